// Package intake is how work reaches agent-smith: the webhook endpoint every
// replica serves (POST /webhooks/{tracker-type}[/{tracker-name}]) and the
// intake of polled tickets. A delivery is verified, parsed, resolved to
// projects and submitted to the run store, and nothing slower: no tracker
// or model call happens on the request path. Every answer is JSON that
// says what happened — 202 with the run ids when work was queued, 200 with
// the reason when the delivery was understood and deliberately not acted
// on, 4xx for what cannot be verified or read, 503 while Redis is out of
// reach so senders that retry will retry.
//
// It is given its trackers and the run store: it must not import a tracker
// implementation, trackers/connect, the pipeline, the workers or
// controllers.
package intake
