package github

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// etagCache makes issue-list requests conditional: it remembers each list
// page's ETag and body, sends If-None-Match, and turns a 304 back into the
// remembered 200. GitHub does not count a 304 against the rate limit, so a
// poll that finds nothing new costs nothing. Only list pages are kept (one
// entry per label and page), so the cache stays as small as the poll.
type etagCache struct {
	next http.RoundTripper
	mu   sync.Mutex
	hits map[string]cachedPage
}

type cachedPage struct {
	etag   string
	header http.Header
	body   []byte
}

func newETagCache(next http.RoundTripper) *etagCache {
	return &etagCache{next: next, hits: map[string]cachedPage{}}
}

func cacheable(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/issues")
}

func (c *etagCache) RoundTrip(r *http.Request) (*http.Response, error) {
	if !cacheable(r) {
		return c.next.RoundTrip(r)
	}
	key := r.URL.String()
	c.mu.Lock()
	prev, ok := c.hits[key]
	c.mu.Unlock()
	if ok {
		r = r.Clone(r.Context())
		r.Header.Set("If-None-Match", prev.etag)
	}
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && ok:
		_ = resp.Body.Close()
		h := prev.header.Clone()
		// The 304 carries the current rate-limit state; keep it.
		for k, v := range resp.Header {
			if strings.HasPrefix(k, "X-Ratelimit-") {
				h[k] = v
			}
		}
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(prev.body)), ContentLength: int64(len(prev.body)), Request: r,
		}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.hits[key] = cachedPage{etag: resp.Header.Get("ETag"), header: resp.Header.Clone(), body: body}
		c.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	return resp, nil
}
