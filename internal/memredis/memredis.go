// Package memredis is the embedded Redis-protocol server `agent-smith serve`
// falls back to when no REDIS_URL is given, so a first run on a laptop needs
// nothing installed. Its data lives in memory and is lost on exit. It
// requires a password made at start, which only its URL carries: local
// sandboxes run under the orchestrator's uid and could otherwise reach it
// on loopback.
//
// It imports no package of agent-smith.
package memredis

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Server is a running in-memory server on a loopback port.
type Server struct {
	mr       *miniredis.Miniredis
	password string
	stop     chan struct{}
	wg       sync.WaitGroup
}

// clockTick is how often key TTLs are advanced; heartbeats (seconds) need
// no finer resolution.
const clockTick = 100 * time.Millisecond

// Start listens on a free loopback port.
func Start() (*Server, error) {
	mr, err := miniredis.Run()
	if err != nil {
		return nil, err
	}
	var pw [32]byte
	_, _ = rand.Read(pw[:])
	s := &Server{mr: mr, password: hex.EncodeToString(pw[:]), stop: make(chan struct{})}
	mr.RequireAuth(s.password)
	// miniredis only expires keys when told time passed; heartbeats and
	// retention rely on real expiry, so time is advanced as it passes.
	s.wg.Go(func() {
		last := time.Now()
		t := time.NewTicker(clockTick)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case now := <-t.C:
				mr.FastForward(now.Sub(last))
				last = now
			}
		}
	})
	return s, nil
}

// URL is the redis:// URL clients connect to, with the password.
func (s *Server) URL() string { return "redis://:" + s.password + "@" + s.mr.Addr() }

// Addr is where the server listens.
func (s *Server) Addr() string { return s.mr.Addr() }

// Close stops the server; its data is gone.
func (s *Server) Close() {
	close(s.stop)
	s.wg.Wait()
	s.mr.Close()
}
