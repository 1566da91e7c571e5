package llm

// Token counts before a call are estimates: the providers' tokenizers are
// not available offline and differ per model. The estimate is bytes per
// token, calibrated against the input tokens each answered call reports,
// so that compaction and the per-call input limit track the real model.

// bytesPerToken is the starting ratio: English prose runs near 4 bytes per
// token, source code a little below.
const bytesPerToken = 3.5

// perMessageOverhead approximates the role and framing tokens each
// message costs beyond its text.
const perMessageOverhead = 8

// Estimator turns request sizes into token estimates.
type Estimator struct {
	// scale multiplies the byte-based estimate; 1 until calibrated.
	scale float64
}

// NewEstimator returns an uncalibrated estimator.
func NewEstimator() *Estimator { return &Estimator{scale: 1} }

// Request estimates the input tokens of req.
func (e *Estimator) Request(req *Request) int {
	return e.scaled(rawRequestTokens(req))
}

// Message estimates one message.
func (e *Estimator) Message(m *Message) int { return e.scaled(rawMessageTokens(m)) }

// Observe calibrates the estimator with the input tokens a provider
// reported for req. The correction is bounded, so one odd report (a cached
// prefix reported oddly, a scripted reply without usage) cannot derail it.
func (e *Estimator) Observe(req *Request, reportedInput int) {
	raw := rawRequestTokens(req)
	if raw < 256 || reportedInput <= 0 {
		return
	}
	e.scale = min(max(float64(reportedInput)/float64(raw), 0.5), 3)
}

func (e *Estimator) scaled(raw int) int { return int(float64(raw)*e.scale + 0.5) }

func rawRequestTokens(req *Request) int {
	n := textTokens(len(req.System))
	for i := range req.Tools {
		t := &req.Tools[i]
		n += textTokens(len(t.Name)+len(t.Description)+len(t.Parameters)) + perMessageOverhead
	}
	for i := range req.Messages {
		n += rawMessageTokens(&req.Messages[i])
	}
	return n
}

func rawMessageTokens(m *Message) int {
	size := len(m.Text) + len(m.ToolCallID) + len(m.ToolName)
	for _, c := range m.ToolCalls {
		size += len(c.ID) + len(c.Name) + len(c.Arguments)
	}
	return textTokens(size) + perMessageOverhead
}

func textTokens(bytes int) int { return int(float64(bytes)/bytesPerToken + 0.999) }

// EstimateTokens is the uncalibrated token estimate of n bytes of text.
func EstimateTokens(n int) int { return textTokens(n) }
