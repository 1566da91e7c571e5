package cli

import (
	"sync"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// On a clean shutdown the manager releases the leader Lease
// (LeaderElectionReleaseOnCancel), and controller-runtime reports its own
// release as the error "leader election lost", once the stop has begun.
// Operators would read an ERROR with a stack trace on every rolling update;
// managerLog says that one line as what it is and passes every other error
// through.
const (
	errAfterStop = "error received after stop sequence was engaged"
	errLeaseLost = "leader election lost"
)

// managerLog is log for the controller-runtime manager.
func managerLog(log logr.Logger) logr.Logger {
	sink := log.GetSink()
	if sink == nil {
		return log
	}
	// The wrapper is one more frame between the caller and the sink.
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		sink = cd.WithCallDepth(1)
	}
	return logr.New(releaseSink{sink})
}

// releaseSink is a LogSink that turns the manager's report of its own
// Lease release into an Info line.
type releaseSink struct{ logr.LogSink }

// Init does nothing: the wrapped sink was initialised with its logger.
func (releaseSink) Init(logr.RuntimeInfo) {}

func (s releaseSink) Error(err error, msg string, kv ...any) {
	if msg == errAfterStop && err != nil && err.Error() == errLeaseLost {
		s.Info(0, "released the leader lease on shutdown", kv...)
		return
	}
	s.LogSink.Error(err, msg, kv...)
}

func (s releaseSink) WithValues(kv ...any) logr.LogSink {
	return releaseSink{s.LogSink.WithValues(kv...)}
}

func (s releaseSink) WithName(name string) logr.LogSink {
	return releaseSink{s.LogSink.WithName(name)}
}

func (s releaseSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return releaseSink{cd.WithCallDepth(depth)}
	}
	return s
}

// crLogger makes controller-runtime's package-level logger (client config
// loading, a few helpers outside the manager) write through the first
// serve's logger. Everything of ours, and the manager, gets its logger
// passed in; this once-per-process setting only keeps controller-runtime
// from warning, with a stack, that its logger was never set.
var crLogger sync.Once

func setControllerRuntimeLogger(log logr.Logger) {
	crLogger.Do(func() { ctrllog.SetLogger(log) })
}
