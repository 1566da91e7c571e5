package intake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// reply is the JSON body of every answer: what happened to the delivery.
type reply struct {
	// Outcome is queued, resumed or ignored; errors have Error instead.
	Outcome  string          `json:"outcome,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Runs     []string        `json:"runs,omitempty"`
	Tracker  string          `json:"tracker,omitempty"`
	Ticket   string          `json:"ticket,omitempty"`
	Delivery string          `json:"delivery,omitempty"`
	Projects []projectResult `json:"projects,omitempty"`
	Error    string          `json:"error,omitempty"`

	// cause is the error behind a 5xx, for the log only.
	cause error
}

// projectResult is what the run store did for one matched project.
type projectResult struct {
	Project  string `json:"project"`
	Pipeline string `json:"pipeline"`
	// Outcome is runs.Outcome: queued, duplicate_delivery or ticket_active.
	Outcome string `json:"outcome"`
	Run     string `json:"run"`
}

// finish writes the answer and counts the delivery.
func (h *Handler) finish(w http.ResponseWriter, start time.Time, tracker, event, outcome string, status int, rep reply) {
	body, err := json.Marshal(rep)
	if err != nil {
		body, status = []byte(`{"error":"internal error"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "10")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	h.metrics.deliveries.WithLabelValues(tracker, event, outcome).Inc()
	h.metrics.duration.WithLabelValues(tracker).Observe(time.Since(start).Seconds())
}
