package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Component is something a test package's tests need running: started by
// Main before them, stopped after them.
type Component func() (stop func(), err error)

// Main is the whole of a TestMain: it starts components in order, runs the
// tests, stops the components in reverse order and exits with the tests'
// status. A component that fails to start fails the package with its error
// (after stopping the ones already started), without running any test.
func Main(m *testing.M, components ...Component) {
	os.Exit(run(m.Run, components))
}

func run(tests func() int, components []Component) int {
	for _, start := range components {
		stop, err := start()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer stop()
	}
	return tests()
}

// WithRedis starts a redis-server (StartRedis with opts) for the tests and
// points *r at it.
func WithRedis(r **Redis, opts ...RedisOption) Component {
	return func() (func(), error) {
		rds, err := StartRedis(opts...)
		if err != nil {
			return nil, err
		}
		*r = rds
		return rds.Stop, nil
	}
}
