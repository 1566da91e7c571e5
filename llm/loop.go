package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
)

// Loop is the tool loop: it sends the conversation to the model, runs the
// tools the model asks for, sends their results back, and repeats until
// the model finishes or a limit binds. Besides Tools, the model always has
// finish and log_decision.
type Loop struct {
	Model  *Model
	Tools  []Tool
	Limits Limits
	// Budget is the run's account, shared by every loop and call of the
	// run; nil means an unlimited budget of this loop alone.
	Budget *Budget
}

// LoopRequest is one task for the loop.
type LoopRequest struct {
	// Phase names the work in the run's report ("execution", "verify").
	Phase  string
	System string
	// Prompt is the task. With History it is appended as a new user turn.
	Prompt string
	// History continues an earlier conversation (LoopResult.Messages);
	// its first message must be the user's task.
	History []Message
}

// LoopResult is what a loop did and why it ended.
type LoopResult struct {
	Stop LoopStop
	// StopDetail explains Stop in words for the run's result.
	StopDetail string
	// FinalText is the model's last text.
	FinalText string
	// Summary is what the model passed to finish.
	Summary   string
	Decisions []Decision
	ToolCalls []ToolCallRecord
	// ModelCalls counts the calls of the loop's model, which the
	// limits.max_llm_calls_per_loop binds; Usage and CostUSD also include
	// the summaries compaction wrote (booked as "{phase}/compaction").
	ModelCalls  int
	Usage       Usage
	CostUSD     float64
	Compactions int
	// Messages is the conversation at the end, to continue it later.
	Messages []Message
}

// ToolCallRecord is one tool call of a loop.
type ToolCallRecord struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	// Error is the failure reported to the model, empty on success.
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration"`
}

var errLoopTime = errors.New("loop time limit")

// resultShare is the largest share of the usable window one tool result
// may take: a single huge output cannot crowd out the whole conversation.
const resultShare = 4

// Run runs req to its end. The error is set only when the loop could not go
// on for a reason that is not a limit: a provider refusing the request for
// good, a tool halting, ctx ending. A limit hit is a result with its Stop.
func (l *Loop) Run(ctx context.Context, req LoopRequest) (LoopResult, error) {
	s, err := l.newState(req)
	if err != nil {
		return LoopResult{}, err
	}
	parent := ctx
	if l.Limits.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, l.Limits.MaxDuration, errLoopTime)
		defer cancel()
	}
	ctx = logr.NewContext(ctx, logr.FromContextOrDiscard(ctx).WithValues("phase", s.phase))
	err = s.run(ctx)
	if err != nil && parent.Err() == nil && l.outOfTime(ctx, parent, err) {
		s.stop(StopTimeLimit, fmt.Sprintf("the loop's %s ran out (limits.max_seconds_per_loop)", l.Limits.MaxDuration))
		err = nil
	}
	s.res.Messages = s.conv.msgs
	if err != nil {
		return s.res, err
	}
	logr.FromContextOrDiscard(ctx).Info("tool loop ended", "stop", string(s.res.Stop), "detail", s.res.StopDetail,
		"modelCalls", s.res.ModelCalls, "toolCalls", len(s.res.ToolCalls), "costUSD", s.res.CostUSD)
	return s.res, nil
}

// outOfTime reports whether err is the loop's own time limit: its deadline
// passed, or a retry would have had to wait past it (rather than past the
// caller's deadline).
func (l *Loop) outOfTime(ctx, parent context.Context, err error) bool {
	if errors.Is(context.Cause(ctx), errLoopTime) {
		return true
	}
	if !errors.Is(err, ErrNoTimeLeft) || l.Limits.MaxDuration <= 0 {
		return false
	}
	own, _ := ctx.Deadline()
	theirs, ok := parent.Deadline()
	return !ok || own.Before(theirs)
}

// loopState is one Run in progress.
type loopState struct {
	l         *Loop
	phase     string
	system    string
	budget    *Budget
	tools     map[string]Tool
	defs      []ToolDef
	maxOut    int
	est       *Estimator
	compactor *compactor
	// trigger and window are token counts: compaction starts above
	// trigger; nothing is sent above window (0: no window known).
	trigger, window int
	conv            conversation
	res             LoopResult
	done            bool
	// lastInput is the input the last call reported, 0 after compaction.
	lastInput int
	// forced is set while a call is retried after compacting harder;
	// badCalls counts unusable tool calls in a row.
	forced   bool
	badCalls int
}

func (l *Loop) newState(req LoopRequest) (*loopState, error) {
	if l.Model == nil || l.Model.Provider == nil {
		return nil, errors.New("tool loop without a model")
	}
	s := &loopState{l: l, phase: req.Phase, system: req.System, budget: l.Budget, tools: map[string]Tool{}, est: NewEstimator()}
	if s.budget == nil {
		s.budget = NewBudget(0, 0)
	}
	for _, t := range l.Tools {
		d := t.Def()
		if _, dup := s.tools[d.Name]; dup || d.Name == ToolFinish || d.Name == ToolLogDecision {
			return nil, fmt.Errorf("tool %q is defined twice", d.Name)
		}
		s.tools[d.Name] = t
		s.defs = append(s.defs, d)
	}
	s.defs = append(s.defs, logDecisionDef, finishDef)
	s.maxOut = positiveMin(l.Model.MaxOutputTokens, l.Limits.MaxOutputTokensPerCall)

	// Room for a few turns up front: copying a long history again on the
	// first appends is most of a short loop's own cost.
	msgs := append(make([]Message, 0, len(req.History)+16), req.History...)
	if req.Prompt != "" {
		msgs = append(msgs, UserMessage(req.Prompt))
	}
	if len(msgs) == 0 || msgs[0].Role != RoleUser {
		return nil, errors.New("tool loop: the conversation must start with the user's task")
	}
	s.conv = conversation{task: msgs[0].Text, msgs: msgs}

	s.window = l.Model.ContextWindow - s.maxOut
	if s.window <= 0 {
		s.window = l.Model.ContextWindow
	}
	s.window = positiveMin(s.window, l.Limits.MaxInputTokensPerCall)
	s.trigger = s.window
	if c := l.Model.Compaction; c.Enabled && c.TriggerRatio > 0 && s.window > 0 {
		s.trigger = int(float64(s.window) * c.TriggerRatio)
		s.compactor = &compactor{keep: c.KeepRecentTurns, size: s.size, summarize: s.summarize}
	}
	return s, nil
}

func positiveMin(a, b int) int {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}

func (s *loopState) stop(reason LoopStop, detail string) {
	if !s.done {
		s.res.Stop, s.res.StopDetail, s.done = reason, detail, true
	}
}

func (s *loopState) request() *Request {
	return &Request{System: s.system, Messages: s.conv.msgs, Tools: s.defs, MaxOutputTokens: s.maxOut}
}

func (s *loopState) size(c *conversation) int {
	return s.est.Request(&Request{System: s.system, Messages: c.msgs, Tools: s.defs})
}

func (s *loopState) run(ctx context.Context) error {
	for !s.done {
		if limit := s.l.Limits.MaxModelCalls; limit > 0 && s.res.ModelCalls >= limit {
			s.stop(StopModelCallLimit, fmt.Sprintf("%d model calls (limits.max_llm_calls_per_loop)", limit))
			break
		}
		if !s.fit(ctx, s.trigger) {
			break
		}
		req := s.request()
		// The conversation only grows between compactions, so the last
		// call's reported input is a floor for this one's.
		estimate := max(s.est.Request(req), s.lastInput)
		resp, rec, err := send(ctx, s.l.Model, s.budget, s.phase, req, estimate)
		var ctxLen *ContextLengthError
		switch {
		case errors.Is(err, ErrBudgetExhausted):
			s.stop(StopBudget, err.Error())
			continue
		case errors.As(err, &ctxLen):
			s.compactHarder(ctx, estimate, ctxLen.Error())
			continue
		case err != nil:
			return err
		}
		again, err := s.redo(ctx, req, resp, rec, estimate)
		if err != nil {
			return err
		}
		if again {
			continue
		}
		s.forced, s.badCalls = false, 0
		s.account(req, resp, rec)
		// After a limit hit act still answers the calls (as not run).
		if err := s.act(ctx, resp); err != nil {
			return err
		}
	}
	return nil
}

// fit compacts the conversation when it estimates above limit, and stops
// the loop when it cannot be brought under the window.
func (s *loopState) fit(ctx context.Context, limit int) bool {
	size := s.size(&s.conv)
	if size > limit && s.compactor != nil {
		aim := int(float64(limit) * compactTarget)
		stage := s.compactor.run(ctx, &s.conv, aim)
		s.res.Compactions++
		s.lastInput = 0
		after := s.size(&s.conv)
		logr.FromContextOrDiscard(ctx).V(1).Info("compacted the conversation", "stage", stage, "tokensBefore", size, "tokensAfter", after, "aim", aim)
		size = after
	}
	if s.window > 0 && size > s.window {
		s.stop(StopInputTokenLimit, fmt.Sprintf("the conversation needs about %d input tokens, more than the %d a call may send", size, s.window))
		return false
	}
	return true
}

// compactHarder answers a conversation the model found too long: the
// estimate was off, so compact to half of what was sent and try once
// more (fit stops the loop if that fails); a second refusal in a row, or
// nothing to compact with, ends the loop.
func (s *loopState) compactHarder(ctx context.Context, sent int, detail string) {
	if s.forced || s.compactor == nil {
		s.stop(StopContextLength, detail)
		return
	}
	s.forced = true
	s.fit(ctx, sent/2)
}

// redo handles the answers the loop calls again for instead of acting on
// them: one that filled the context window, an unusable tool call, a
// paused turn. It reports whether the loop should call again, and fails
// the loop when the model keeps making unusable calls.
func (s *loopState) redo(ctx context.Context, req *Request, resp *Response, rec CallRecord, sent int) (bool, error) {
	if len(resp.ToolCalls) > 0 {
		return false, nil
	}
	switch resp.StopReason {
	case StopContextWindow:
		s.book(req, resp, rec)
		s.compactHarder(ctx, sent, "the conversation and the answer filled the model's context window")
		return true, nil
	case StopBadToolCall:
		s.book(req, resp, rec)
		if s.badCalls++; s.badCalls > 1 {
			return true, &BadToolCallError{Detail: resp.StopDetail}
		}
		s.conv.msgs = append(s.conv.msgs, UserMessage(badCallCorrection(resp.StopDetail)))
		return true, nil
	case StopPaused:
		s.book(req, resp, rec)
		s.conv.msgs = append(s.conv.msgs, Message{Role: RoleAssistant, Text: resp.Text})
		return true, nil
	}
	return false, nil
}

func badCallCorrection(detail string) string {
	return "Your last tool call could not be used (" + detail + "). Call one of the declared tools again with a single JSON " +
		"object of arguments that matches its parameters, or call finish."
}

// book counts a call that was answered, whatever is done with the answer.
func (s *loopState) book(req *Request, resp *Response, rec CallRecord) {
	s.res.ModelCalls++
	s.res.Usage = s.res.Usage.Add(resp.Usage)
	s.res.CostUSD += rec.CostUSD
	s.est.Observe(req, resp.Usage.InputTokens)
	s.lastInput = resp.Usage.InputTokens
}

// account books a call whose answer the loop acts on and checks the
// per-call limits on it.
func (s *loopState) account(req *Request, resp *Response, rec CallRecord) {
	s.book(req, resp, rec)
	s.conv.msgs = append(s.conv.msgs, Message{Role: RoleAssistant, Text: resp.Text, ToolCalls: resp.ToolCalls})
	if resp.Text != "" {
		s.res.FinalText = resp.Text
	}
	if limit := s.l.Limits.MaxInputTokensPerCall; limit > 0 && resp.Usage.InputTokens > limit {
		s.stop(StopInputTokenLimit, fmt.Sprintf("a call sent %d input tokens, more than limits.max_input_tokens_per_call %d", resp.Usage.InputTokens, limit))
		return
	}
	if len(resp.ToolCalls) > 0 {
		return
	}
	switch resp.StopReason {
	case StopMaxTokens:
		s.stop(StopOutputTokenLimit, fmt.Sprintf("the answer was cut at %d output tokens", s.maxOut))
	case StopRefusal:
		s.stop(StopRefused, "the model refused or its answer was filtered")
	default:
		s.stop(StopAnswered, "the model answered without calling finish")
	}
}

// act runs the tool calls of resp in order and appends their results.
func (s *loopState) act(ctx context.Context, resp *Response) error {
	for _, call := range resp.ToolCalls {
		if s.done {
			// Calls after finish or a limit still get a result, so the
			// conversation stays well-formed for a later continuation.
			s.reply(call, "not run: the loop had already ended ("+string(s.res.Stop)+")", true)
			continue
		}
		switch call.Name {
		case ToolFinish:
			summary, err := decodeFinish(call.Arguments)
			if err != nil {
				s.reply(call, err.Error(), true)
				continue
			}
			s.res.Summary = summary
			s.reply(call, "finished", false)
			s.stop(StopFinished, "the model called finish")
			continue
		case ToolLogDecision:
			d, err := decodeDecision(call.Arguments)
			if err != nil {
				s.reply(call, err.Error(), true)
				continue
			}
			s.res.Decisions = append(s.res.Decisions, d)
			s.reply(call, "recorded", false)
			continue
		}
		if limit := s.l.Limits.MaxToolCalls; limit > 0 && len(s.res.ToolCalls) >= limit {
			s.stop(StopToolCallLimit, fmt.Sprintf("%d tool calls (limits.max_tool_calls_per_loop)", limit))
			s.reply(call, "not run: the tool call limit of this loop is reached", true)
			continue
		}
		if err := s.runTool(ctx, call); err != nil {
			return err
		}
	}
	return nil
}

func (s *loopState) runTool(ctx context.Context, call ToolCall) error {
	rec := ToolCallRecord{Name: call.Name, Arguments: call.Arguments}
	start := time.Now()
	var out string
	var err error
	if t, ok := s.tools[call.Name]; ok {
		out, err = t.Call(ctx, call.Arguments)
	} else {
		err = fmt.Errorf("unknown tool %q", call.Name)
	}
	rec.Duration = time.Since(start)
	log := logr.FromContextOrDiscard(ctx)
	if _, halt := errors.AsType[*HaltError](err); halt || ctx.Err() != nil {
		log.Info("tool call ended the loop", "tool", call.Name, "err", err.Error())
		return fmt.Errorf("tool %s: %w", call.Name, err)
	}
	if err != nil {
		rec.Error = err.Error()
		out = err.Error()
	}
	s.res.ToolCalls = append(s.res.ToolCalls, rec)
	traceTool(ctx, rec)
	if debug := log.V(1); debug.Enabled() {
		debug.Info("tool call", "tool", call.Name, "ok", err == nil, "seconds", rec.Duration.Seconds())
	}
	s.reply(call, s.capResult(out), err != nil)
	return nil
}

// capResult cuts a tool result that alone would take more than its share
// of the window.
func (s *loopState) capResult(out string) string {
	limit := int(float64(s.window/resultShare) * bytesPerToken)
	if limit <= 0 || len(out) <= limit {
		return out
	}
	return truncateMiddle(out, limit)
}

func (s *loopState) reply(call ToolCall, text string, isError bool) {
	s.conv.msgs = append(s.conv.msgs, Message{Role: RoleTool, ToolCallID: call.ID, ToolName: call.Name, Text: text, IsError: isError})
}
