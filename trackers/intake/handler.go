package intake

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
)

// Defaults of the options.
const (
	DefaultBodyLimit   = 1 << 20
	DefaultReadTimeout = 10 * time.Second
)

// Option adjusts a Handler.
type Option func(*Handler)

// WithBodyLimit caps a delivery's body (default 1 MiB); larger ones get 413.
func WithBodyLimit(n int64) Option { return func(h *Handler) { h.bodyLimit = n } }

// WithReadTimeout bounds reading one delivery's body (default 10 s).
func WithReadTimeout(d time.Duration) Option { return func(h *Handler) { h.readTimeout = d } }

// Handler is the webhook endpoint of every replica:
// POST /webhooks/{tracker-type} and /webhooks/{tracker-type}/{tracker-name}.
type Handler struct {
	mux         *http.ServeMux
	state       atomic.Pointer[snapshot]
	runs        Runs
	log         logr.Logger
	metrics     *metrics
	notices     *notices
	bodyLimit   int64
	readTimeout time.Duration
}

// snapshot is the configuration one request works with; Reload swaps it.
type snapshot struct {
	cfg      *config.Config
	trackers map[string]trackers.Tracker
	// routes maps each live webhook path to its tracker (config.WebhookRoutes).
	routes map[string]string
	// events holds each tracker's known event names, the values the
	// event label takes.
	events map[string]map[string]bool
}

// New builds the endpoint for cfg's trackers (built by their packages,
// keyed by name), queuing work in rs and counting deliveries in reg (nil:
// not registered). Trackers without a webhook_secret refuse webhooks; New
// logs each of them once, saying why.
func New(cfg *config.Config, trs map[string]trackers.Tracker, rs Runs, log logr.Logger, reg prometheus.Registerer, opts ...Option) (*Handler, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	h := &Handler{runs: rs, log: log.WithName("webhooks"), metrics: m, notices: newNotices(),
		bodyLimit: DefaultBodyLimit, readTimeout: DefaultReadTimeout}
	for _, o := range opts {
		o(h)
	}
	h.Reload(cfg, trs)
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("/webhooks/{type}", h.serve)
	h.mux.HandleFunc("/webhooks/{type}/{name}", h.serve)
	h.mux.HandleFunc("/webhooks/", func(w http.ResponseWriter, r *http.Request) {
		h.finish(w, time.Now(), unknownTracker, unverified, outcomeNotFound, http.StatusNotFound,
			reply{Error: "webhook paths are /webhooks/{tracker-type} and /webhooks/{tracker-type}/{tracker-name}"})
	})
	return h, nil
}

// Reload makes new deliveries use cfg and trs; deliveries in flight finish
// with what they started with.
func (h *Handler) Reload(cfg *config.Config, trs map[string]trackers.Tracker) {
	for _, name := range slices.Sorted(maps.Keys(cfg.Trackers)) {
		if cfg.Trackers[name].WebhookSecret == "" {
			h.log.Info("tracker has no webhook_secret, so its webhooks are refused; set trackers."+name+".webhook_secret to accept them", "tracker", name)
		}
	}
	events := map[string]map[string]bool{}
	for name, tr := range trs {
		events[name] = map[string]bool{}
		for _, e := range tr.KnownEvents() {
			events[name][e] = true
		}
	}
	h.state.Store(&snapshot{cfg: cfg, trackers: maps.Clone(trs), routes: cfg.WebhookRoutes(), events: events})
}

// ServeHTTP routes /webhooks/… requests.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// route finds the tracker a webhook path names, or the status and message
// to refuse the request with.
func (s *snapshot) route(r *http.Request) (name string, status int, msg string) {
	typ, named := r.PathValue("type"), r.PathValue("name")
	path := "/webhooks/" + typ
	if named != "" {
		path += "/" + named
	}
	if name, ok := s.routes[path]; ok {
		if _, built := s.trackers[name]; !built {
			return "", http.StatusNotFound, fmt.Sprintf("tracker %s is configured but not running (see the orchestrator log)", name)
		}
		return name, 0, ""
	}
	var sameType []string
	for n, t := range s.cfg.Trackers {
		if string(t.Type) == typ && (named == "" || n == named) {
			sameType = append(sameType, n)
		}
	}
	slices.Sort(sameType)
	switch {
	case len(sameType) == 1 && s.cfg.Trackers[sameType[0]].WebhookSecret == "":
		return "", http.StatusForbidden, fmt.Sprintf("tracker %s has no webhook_secret, so it refuses webhooks", sameType[0])
	case named == "" && len(sameType) > 1:
		return "", http.StatusNotFound, fmt.Sprintf("several %s trackers (%v): use /webhooks/%s/{tracker-name}", typ, sameType, typ)
	case named != "":
		return "", http.StatusNotFound, fmt.Sprintf("no %s tracker named %s", typ, named)
	}
	return "", http.StatusNotFound, fmt.Sprintf("no tracker of type %s", typ)
}
