// Package logging builds the one log stack every agent-smith process uses:
// zap behind logr, with the same keys (ts, level, msg, and the callers'
// run, ticket, repo, pod, job, step), durations written as strings ("2.5s")
// and stack traces only at debug verbosity. JSON for machines (the image's
// default), console for humans.
//
// It depends on zap and logr alone, not on controller-runtime, so the slim
// sandbox agent can use it.
package logging

import (
	"fmt"
	"io"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Formats of the log.
const (
	JSON    = "json"
	Console = "console"
)

// Options shape a logger.
type Options struct {
	// Format is JSON or Console.
	Format string
	// Verbosity is logr's V level that is still written: 0 info, 1 debug,
	// 2 and more trace. A negative one writes errors only.
	Verbosity int
}

// Validate says what is wrong with o, naming the flag values it takes.
func (o Options) Validate() error {
	if o.Format != JSON && o.Format != Console {
		return fmt.Errorf("log format %q: want json or console", o.Format)
	}
	return nil
}

// New is a logger writing to w.
func New(w io.Writer, o Options) logr.Logger {
	enc := zapcore.EncoderConfig{
		TimeKey:        "ts",
		LevelKey:       "level",
		NameKey:        "logger",
		MessageKey:     "msg",
		StacktraceKey:  "stacktrace",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     zapcore.ISO8601TimeEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	}
	var encoder zapcore.Encoder
	if o.Format == Console {
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	} else {
		encoder = zapcore.NewJSONEncoder(enc)
	}
	level := zapcore.Level(-o.Verbosity)
	if o.Verbosity < 0 {
		level = zapcore.ErrorLevel
	}
	// An expected failure (a tracker timing out, Redis restarting) is one
	// line; the stack is for whoever debugs.
	traces := zapcore.DPanicLevel
	if o.Verbosity > 0 {
		traces = zapcore.ErrorLevel
	}
	core := zapcore.NewCore(encoder, zapcore.AddSync(w), zap.NewAtomicLevelAt(level))
	return zapr.NewLoggerWithOptions(zap.New(core, zap.AddStacktrace(traces)), zapr.ErrorKey("error"))
}
