package intake

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes counted in agentsmith_webhook_deliveries_total{outcome}.
const (
	outcomeQueued           = "queued"
	outcomeResumed          = "resumed"
	outcomeCancelled        = "cancelled"
	outcomePing             = "ping"
	outcomeIgnored          = "ignored"
	outcomeDuplicate        = "duplicate"
	outcomeActive           = "ticket_active"
	outcomeNotNew           = "not_new"
	outcomeCapped           = "capped"
	outcomeUnauthorized     = "unauthorized"
	outcomeRefused          = "refused"
	outcomeBadRequest       = "bad_request"
	outcomeNotFound         = "not_found"
	outcomeMethodNotAllowed = "method_not_allowed"
	outcomeMediaType        = "unsupported_media_type"
	outcomeTooLarge         = "too_large"
	outcomeTimeout          = "timeout"
	outcomeUnavailable      = "unavailable"
	outcomeError            = "error"
)

// Label values for deliveries that never reached a tracker or were not
// verified, and for event names the tracker does not know: request paths
// and headers are the sender's choice (GitHub's event name is not signed)
// and must not become label values.
const (
	unknownTracker = "unknown"
	unverified     = "unverified"
	otherEvent     = "other"
)

// eventLabel is the event label of a verified delivery of tracker: its
// event name when the tracker lists it (trackers.Webhooks.KnownEvents),
// else "other".
func (s *snapshot) eventLabel(tracker, name string) string {
	if s.events[tracker][name] {
		return name
	}
	return otherEvent
}

type metrics struct {
	deliveries *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agentsmith_webhook_deliveries_total",
			Help: "Webhook deliveries by tracker, event and outcome.",
		}, []string{"tracker", "event", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agentsmith_webhook_request_duration_seconds",
			Help: "Time to answer a webhook delivery, from the request to the reply.",
			// The request path is verify, parse, one Redis script: well
			// under a millisecond when healthy.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"tracker"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register webhook metrics: %w", err)
		}
	}
	return m, nil
}
