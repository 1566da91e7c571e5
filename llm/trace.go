package llm

import (
	"context"
	"time"
)

// Trace hears of the model and tool calls made under a context, as each
// ends: the run's transcript is written from it. Like net/http/httptrace it
// rides in the context, so every loop, structured call and compaction of a
// run reports to the one trace without being handed it. A nil hook is
// skipped; hooks run on the caller's goroutine and should be quick.
type Trace struct {
	ModelCall func(context.Context, ModelCallInfo)
	ToolCall  func(context.Context, ToolCallRecord)
}

// ModelCallInfo is one model call as it ended.
type ModelCallInfo struct {
	Phase string
	// Model is the model that answered (the provider's name for it when it
	// gives one), else the configured one.
	Model    string
	Usage    Usage
	CostUSD  float64
	Duration time.Duration
	Stop     StopReason
	// Err is why no answer came; Usage and CostUSD are zero then.
	Err error
}

type traceKey struct{}

// WithTrace returns ctx carrying t, replacing a trace ctx already carries.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

func traceOf(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

func traceModel(ctx context.Context, info ModelCallInfo) {
	if t := traceOf(ctx); t != nil && t.ModelCall != nil {
		t.ModelCall(ctx, info)
	}
}

func traceTool(ctx context.Context, rec ToolCallRecord) {
	if t := traceOf(ctx); t != nil && t.ToolCall != nil {
		t.ToolCall(ctx, rec)
	}
}
