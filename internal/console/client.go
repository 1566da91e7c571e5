package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/runs"
)

// Client calls an orchestrator's run API (the `agent-smith runs`
// commands).
type Client struct {
	// Server is the API's base URL, e.g. http://localhost:8081.
	Server string
	// Token is sent as a bearer token.
	Token string
	// HTTP makes the requests; nil means a client without a timeout
	// (streams last as long as their run), bounded by the contexts.
	HTTP *http.Client
	// Reconnect is the pause before Follow reconnects a dropped stream;
	// zero means two seconds.
	Reconnect time.Duration
}

// APIError is an error answer of the API.
type APIError struct {
	Status    int
	Message   string
	State     runs.State
	ActiveRun string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

func (c *Client) do(ctx context.Context, method, path string, body any, accept string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Server, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, apiErrorOf(resp)
	}
	return resp, nil
}

func apiErrorOf(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body apiError
	if json.Unmarshal(data, &body) != nil || body.Error == "" {
		body.Error = strings.TrimSpace(string(data))
		if body.Error == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			body.Error = resp.Status + " from " + resp.Request.URL.Redacted() + " (is it agent-smith's admin port?)"
		}
	}
	return &APIError{Status: resp.StatusCode, Message: body.Error, State: body.State, ActiveRun: body.ActiveRun}
}

func (c *Client) getJSON(ctx context.Context, method, path string, body, into any) error {
	resp, err := c.do(ctx, method, path, body, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return nil
}

// List returns a page of runs.
func (c *Client) List(ctx context.Context, f runs.Filter) (runs.Page, error) {
	q := url.Values{}
	for _, st := range f.States {
		q.Add("state", string(st))
	}
	for k, v := range map[string]string{"project": f.Project, "ticket": f.Ticket, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var p runs.Page
	err := c.getJSON(ctx, http.MethodGet, "/api/runs?"+q.Encode(), nil, &p)
	return p, err
}

// Get returns one run.
func (c *Client) Get(ctx context.Context, id string) (runs.Run, error) {
	var r runs.Run
	err := c.getJSON(ctx, http.MethodGet, "/api/runs/"+url.PathEscape(id), nil, &r)
	return r, err
}

// Events returns the run's log after the cursor, one page.
func (c *Client) Events(ctx context.Context, id, after string) (EventsPage, error) {
	var p EventsPage
	path := "/api/runs/" + url.PathEscape(id) + "/events"
	if after != "" {
		path += "?after=" + url.QueryEscape(after)
	}
	err := c.getJSON(ctx, http.MethodGet, path, nil, &p)
	return p, err
}

// Cancel calls the run off.
func (c *Client) Cancel(ctx context.Context, id, reason string) (runs.Run, error) {
	var r runs.Run
	err := c.getJSON(ctx, http.MethodPost, "/api/runs/"+url.PathEscape(id)+"/cancel", cancelRequest{Reason: reason}, &r)
	return r, err
}

// Retry queues a new attempt of a failed or cancelled run.
func (c *Client) Retry(ctx context.Context, id string) (runs.Run, error) {
	var r runs.Run
	err := c.getJSON(ctx, http.MethodPost, "/api/runs/"+url.PathEscape(id)+"/retry", nil, &r)
	return r, err
}

// errStreamBroke is a stream that ended without the run's end.
var errStreamBroke = errors.New("the event stream ended before the run")

// Follow calls fn with each entry of the run's log after the cursor, live,
// until the run ends, and returns the run as it ended. A stream that
// breaks is resumed from the last entry seen (the server's Last-Event-ID);
// an answer of the API (no such run, bad token) ends Follow.
func (c *Client) Follow(ctx context.Context, id, after string, fn func(runs.Entry) error) (runs.Run, error) {
	pause := c.Reconnect
	if pause == 0 {
		pause = 2 * time.Second
	}
	for failures := 0; ; failures++ {
		run, last, err := c.stream(ctx, id, after, fn)
		if after != last {
			failures = 0 // it made progress
		}
		after = last
		var apiErr *APIError
		switch {
		case err == nil:
			return run, nil
		case errors.As(err, &apiErr), ctx.Err() != nil, failures >= 10:
			return runs.Run{}, err
		}
		select {
		case <-ctx.Done():
			return runs.Run{}, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// stream reads one connection of the event stream; last is the id of the
// last entry handed to fn.
func (c *Client) stream(ctx context.Context, id, after string, fn func(runs.Entry) error) (run runs.Run, last string, err error) {
	last = after
	path := "/api/runs/" + url.PathEscape(id) + "/events"
	if after != "" {
		path += "?after=" + url.QueryEscape(after)
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil, "text/event-stream")
	if err != nil {
		return runs.Run{}, last, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data == "" {
				continue
			}
			done, err := handleEvent(event, data, &run, &last, fn)
			if done || err != nil {
				return run, last, err
			}
			event, data = "", ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			if data != "" {
				data += "\n"
			}
			data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
	if err := sc.Err(); err != nil {
		return runs.Run{}, last, err
	}
	return runs.Run{}, last, errStreamBroke
}

// handleEvent acts on one event; done is true once the run ended.
func handleEvent(event, data string, run *runs.Run, last *string, fn func(runs.Entry) error) (done bool, err error) {
	switch event {
	case "entry":
		var e runs.Entry
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			return true, fmt.Errorf("read an entry of the stream: %w", err)
		}
		if err := fn(e); err != nil {
			return true, err
		}
		*last = e.ID
	case "end":
		if err := json.Unmarshal([]byte(data), run); err != nil {
			return true, fmt.Errorf("read the end of the stream: %w", err)
		}
		return true, nil
	case "stream-error":
		var body apiError
		_ = json.Unmarshal([]byte(data), &body)
		return true, fmt.Errorf("%w: %s", errStreamBroke, body.Error)
	}
	return false, nil
}
