// Package apiclient is the sandbox's side of the sandbox API (package
// gateway): a client that pins the API's certificate and carries its
// job's token, and the serve loop the agent and the git gate share.
//
// It must stay free of heavy imports (no Kubernetes, no Redis): it is
// part of the binary injected into every sandbox.
package apiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/sandbox"
)

// Answers of the API that change what the caller does.
var (
	// ErrUnauthorized: the API does not know the token (a replica that
	// restarted has a new key). Waited out for a while, then fatal.
	ErrUnauthorized = errors.New("the sandbox API refused the token")
	// ErrReleased: the job was released; the process has nothing more to do.
	ErrReleased = errors.New("the sandbox was released")
	// ErrUnknownStep: nobody waits for that step anymore.
	ErrUnknownStep = errors.New("no caller waits for the step")
	// ErrBudgetSpent: the step's events are not taken anymore.
	ErrBudgetSpent = errors.New("the step's event budget is spent")
	// ErrTooLarge: the API refused a body over its limit.
	ErrTooLarge = errors.New("over the sandbox API's size limit")
)

// Options say where the API is and who calls it.
type Options struct {
	// URL is the API's base URL: https with CertPEM, or http on loopback.
	URL string
	// CertPEM is the API's certificate, pinned: nothing else is trusted.
	CertPEM []byte
	Role    string
	Job     string
	Token   string
}

// Client calls the API as one role of one job.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New checks o and returns a client. A token is never sent in clear text
// beyond this machine: plain http is refused unless the host is loopback.
func New(o Options) (*Client, error) {
	if o.Role != sandbox.RoleAgent && o.Role != sandbox.RoleGate {
		return nil, fmt.Errorf("sandbox API: unknown role %q", o.Role)
	}
	if err := sandbox.ValidateJobID(o.Job); err != nil {
		return nil, err
	}
	if o.Token == "" {
		return nil, errors.New("sandbox API: no token")
	}
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sandbox API URL %q: want http(s)://host:port", o.URL)
	}
	tr := &http.Transport{
		Proxy:                 nil, // a proxy set for package registries must not see the token
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ResponseHeaderTimeout: time.Minute,
	}
	switch {
	case u.Scheme == "https" && len(o.CertPEM) > 0:
		if tr.TLSClientConfig, err = pinned(o.CertPEM); err != nil {
			return nil, err
		}
	case u.Scheme == "https":
		return nil, errors.New("sandbox API: https without the certificate to pin (SANDBOX_API_CA)")
	case u.Scheme == "http" && loopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("sandbox API URL %q: plain http only on loopback", o.URL)
	}
	base := fmt.Sprintf("%s://%s/v1/%s/%s/", u.Scheme, u.Host, o.Role, o.Job)
	return &Client{base: base, token: o.Token, hc: &http.Client{Transport: tr}}, nil
}

// pinned trusts certPEM and nothing else.
func pinned(certPEM []byte) (*tls.Config, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("sandbox API certificate: not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("sandbox API certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{
		MinVersion: tls.VersionTLS13, RootCAs: roots, ServerName: sandbox.APIServerName,
		// The chain check above accepts the pinned certificate; this
		// makes sure it is that exact one.
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], block.Bytes) {
				return errors.New("sandbox API: the server's certificate is not the pinned one")
			}
			return nil
		},
	}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Next polls for a step; running names the step being executed (then the
// answer is at most a cancel). An empty response means nothing came.
func (c *Client) Next(ctx context.Context, running string) (sandbox.NextResponse, error) {
	var out sandbox.NextResponse
	body, _ := json.Marshal(sandbox.NextRequest{Running: running})
	resp, err := c.post(ctx, "next", body)
	if err != nil {
		return out, err
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusNoContent {
		return out, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, sandbox.MaxResultBytes)).Decode(&out); err != nil {
		return out, fmt.Errorf("sandbox API: decode poll answer: %w", err)
	}
	return out, nil
}

// Result delivers an encoded result once.
func (c *Client) Result(ctx context.Context, stepID string, data []byte) error {
	resp, err := c.post(ctx, "results/"+stepID, data)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// Events delivers a batch of a streamed step's events once.
func (c *Client) Events(ctx context.Context, stepID string, batch []sandbox.StepEvent) error {
	data, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	resp, err := c.post(ctx, "events/"+stepID, data)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// post sends body to path and maps the API's refusals to errors; the
// caller drains a response it gets.
func (c *Client) post(ctx context.Context, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sandbox API: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
		return resp, nil
	}
	drain(resp)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return nil, ErrUnauthorized
	case http.StatusGone:
		return nil, ErrReleased
	case http.StatusConflict:
		return nil, ErrUnknownStep
	case http.StatusRequestEntityTooLarge:
		return nil, ErrTooLarge
	case http.StatusTooManyRequests:
		if strings.HasPrefix(path, "events/") {
			return nil, ErrBudgetSpent
		}
	}
	return nil, fmt.Errorf("sandbox API: %s %s", path, resp.Status)
}

// drain reads what is left of a small answer, so the connection is kept.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
