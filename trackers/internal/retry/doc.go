// Package retry runs the calls of a tracker's API client: it sends a failed
// call again when the tracker's own decision says so, holds back every call
// of the client while a rate limit lasts, and gives up at once when the
// tracker asks to wait longer than a call may. It also holds the pieces
// those decisions share: reading Retry-After and recognising a request that
// failed on the way. What is retryable, and for how long, stays with each
// tracker.
//
// It imports no package of agent-smith.
package retry
