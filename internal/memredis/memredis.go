// Package memredis is the embedded Redis-protocol server `agent-smith serve`
// falls back to when no REDIS_URL is given, so a first run on a laptop needs
// nothing installed. Its data lives in memory and is lost on exit.
//
// It imports no package of agent-smith.
package memredis

import (
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Server is a running in-memory server on a loopback port.
type Server struct {
	mr   *miniredis.Miniredis
	stop chan struct{}
	wg   sync.WaitGroup
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
	s := &Server{mr: mr, stop: make(chan struct{})}
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

// URL is the redis:// URL clients connect to.
func (s *Server) URL() string { return "redis://" + s.mr.Addr() }

// Close stops the server; its data is gone.
func (s *Server) Close() {
	close(s.stop)
	s.wg.Wait()
	s.mr.Close()
}
