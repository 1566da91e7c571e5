// Package llm is the conversation machinery between the pipeline and a
// language model: the Provider interface every model backend implements,
// the retry, concurrency and recording decorators around it, the tool loop
// with its limits, the run-wide cost budget, context compaction, and the
// single structured (JSON) call used for planning and review.
//
// A Provider only speaks one request/response exchange. Everything that
// makes a run safe and affordable lives here, so it binds the same way for
// every provider:
//
//   - WithRetry retries throttled (429), overloaded (529) and failed (5xx)
//     calls with exponential backoff and jitter, honours Retry-After, and
//     bounds each attempt with the agent's request timeout.
//   - Gate bounds the model calls in flight across a process.
//   - Loop.Run enforces tool calls, model calls, input and output tokens per
//     call and seconds per loop; a limit hit ends the loop with a recorded
//     StopReason rather than an error.
//   - Budget admits or refuses every model call of a run against its money
//     and token caps, and reports usage and cost per call and per phase.
//   - Compaction shrinks old tool results (and, when needed, whole old
//     turns) before a request would outgrow its share of the context window.
//   - Every normalised StopReason says what the loop does next: an answer
//     cut by the context window compacts and asks again, an unusable tool
//     call is corrected once, a paused turn is sent back.
//
// Prices come from the agent's pricing table, else the built-in catalog
// (llm/catalog), which also holds the models' limits.
//
// Of agent-smith it imports config and llm/catalog; never runs, trackers,
// sandbox or controllers: the pipeline hands it the tools and the budget.
package llm
