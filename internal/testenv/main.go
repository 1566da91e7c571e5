package testenv

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Shared is one piece of a test package's infrastructure: the first test
// that asks for it starts it, the others get the same one, and Main stops
// it after the last test. A test that never asks starts nothing, so the
// pure tests of a package run on a machine without Redis or envtest.
//
// Under -short, Get skips the test: `go test -short ./...` runs the tests
// that need no infrastructure. Otherwise a start that failed fails every
// test that asks, with the error naming the command that fixes it.
type Shared[T any] struct {
	what  string
	start func() (T, func(), error)

	once sync.Once
	v    T
	err  error
}

// NewShared returns the shared thing start makes; what names it in the
// message of a skipped test. start returns the thing and how to stop it.
func NewShared[T any](what string, start func() (T, func(), error)) *Shared[T] {
	return &Shared[T]{what: what, start: start}
}

// Get returns the started thing, starting it on the first call.
func (s *Shared[T]) Get(t testing.TB) T {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: skipped with -short", s.what)
	}
	v, err := s.get()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (s *Shared[T]) get() (T, error) {
	s.once.Do(func() {
		v, stop, err := s.start()
		if err != nil {
			s.err = err
			return
		}
		s.v = v
		stops.add(stop)
	})
	return s.v, s.err
}

// stops are the stop functions of what the package's tests started.
var stops stopList

type stopList struct {
	mu  sync.Mutex
	fns []func()
}

func (l *stopList) add(stop func()) {
	if stop == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fns = append(l.fns, stop)
}

// run stops, newest first, whatever was started.
func (l *stopList) run() {
	l.mu.Lock()
	fns := l.fns
	l.fns = nil
	l.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// Main is the whole of a TestMain: it runs the tests, stops what they
// started (newest first) and exits with the tests' status.
func Main(m *testing.M) {
	code := m.Run()
	stops.run()
	os.Exit(code)
}

var (
	redisServer = NewShared("redis-server", func() (*Redis, func(), error) {
		r, err := StartRedis()
		if err != nil {
			return nil, nil, err
		}
		return r, r.Stop, nil
	})
	controlPlane = NewShared("an envtest control plane", func() (*Cluster, func(), error) {
		c, err := StartCluster()
		if err != nil {
			return nil, nil, err
		}
		return c, func() {
			if err := c.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "stop envtest:", err)
			}
		}, nil
	})
	agentBinary = NewShared("the agent-smith binary", buildAgentTemp)
)

// SharedRedis is the package's redis-server (StartRedis, no persistence).
// Tests share it: each uses a key prefix of its own or flushes it first.
func SharedRedis(t testing.TB) *Redis { t.Helper(); return redisServer.Get(t) }

// SharedCluster is the package's envtest control plane (StartCluster).
// Tests share it: each uses a namespace of its own.
func SharedCluster(t testing.TB) *Cluster { t.Helper(); return controlPlane.Get(t) }

// AgentBinary is the path of the agent-smith binary built from this
// checkout for the package (buildAgent), removed after its tests.
func AgentBinary(t testing.TB) string { t.Helper(); return agentBinary.Get(t) }

// OwnRedis starts a redis-server of the test's own (StartRedis with opts),
// for a test that kills or restarts it; it stops when the test ends.
// Under -short it skips the test, as Shared.Get does.
func OwnRedis(t testing.TB, opts ...RedisOption) *Redis {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a redis-server of its own: skipped with -short")
	}
	r, err := StartRedis(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}
