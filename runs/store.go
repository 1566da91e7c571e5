package runs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultPrefix       = "agentsmith:"
	DefaultHeartbeatTTL = 30 * time.Second
	DefaultMaxAttempts  = 3
	DefaultRetention    = 7 * 24 * time.Hour
	// DefaultDeliveryTTL outlasts GitHub's three-day redelivery window.
	DefaultDeliveryTTL  = 72 * time.Hour
	DefaultEventLimit   = 2000
	DefaultEventBytes   = 1 << 20
	DefaultBlockTimeout = 5 * time.Second
	// DefaultFinalizeLease is how long a finalizer may go without renewing
	// its claim on a finalize entry before another replica's takes it.
	DefaultFinalizeLease = 2 * time.Minute
	// DefaultFinalizeDeadline bounds the retries of a ticket write that
	// keeps failing transiently; the finalizer then gives up on it.
	DefaultFinalizeDeadline = time.Hour
	// DefaultTicketWindow is the rolling window of a ticket's run cap
	// (Submission.MaxPerDay).
	DefaultTicketWindow = 24 * time.Hour
	// minRecordTTL is how long a ticket's record (its last run, the
	// triggers seen) lasts at least: longer than a replay's dedup, so an
	// old delivery replayed after it is still not new.
	minRecordTTL = 90 * 24 * time.Hour
)

// group is the consumer group every replica's workers read the queue in;
// finalizers is the one the finalizers read the finalize outbox in.
const (
	group      = "workers"
	finalizers = "finalizers"
)

var (
	// ErrNotFound: no run with that id (never was, or expired).
	ErrNotFound = errors.New("run not found")
	// ErrLeaseLost: the caller's start (fence) is no longer the run's
	// current one, or the run stopped being active (reclaimed, handed back,
	// cancelled, failed by someone else). The caller must stop working on
	// the run.
	ErrLeaseLost = errors.New("run lease lost")
)

// Options configure a Store. Zero values take the defaults above.
type Options struct {
	// Prefix starts every key, e.g. "agentsmith:".
	Prefix string
	// HeartbeatTTL is how long a run stays owned without a heartbeat; an
	// owner heartbeats every third of it (KeepAlive does).
	HeartbeatTTL time.Duration
	// MaxAttempts is how many attempts may be lost to dead owners before the
	// run fails.
	MaxAttempts int
	// Retention is how long a finished run and its events are kept.
	Retention time.Duration
	// DeliveryTTL is how long a webhook delivery id is remembered; at least
	// 72 h.
	DeliveryTTL time.Duration
	// EventLimit and EventBytes cap each run's event log: the oldest
	// entries go once it holds more entries or bytes (of field names and
	// values) than these.
	EventLimit int64
	EventBytes int64
	// BlockTimeout bounds one blocking read of the queue; Dequeue also looks
	// for runs to reclaim at most this often. At most HeartbeatTTL/4: the
	// reclaim passes of idle workers tell a live Redis from an outage.
	BlockTimeout time.Duration
	// FinalizeLease is how long a finalizer may hold a finalize entry
	// without renewing its claim before another one takes it over.
	FinalizeLease time.Duration
	// FinalizeDeadline bounds the retries of a ticket write that keeps
	// failing transiently, counted from the run's end.
	FinalizeDeadline time.Duration
	// TicketWindow is the rolling window a ticket's runs are counted in
	// for Submission.MaxPerDay (default 24 h; tests shorten it).
	TicketWindow time.Duration
	// Notify is called after every transition this Store applies (the
	// creation of a run included), with the run as it is afterwards. It runs
	// on the caller's goroutine and must not block.
	Notify func(Run)
	// OnEpoch is called once for each epoch of Redis this Store's reclaim
	// sees begin, with why ("restart", "gap"), for the metrics.
	OnEpoch func(reason string)
}

func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.HeartbeatTTL == 0 {
		o.HeartbeatTTL = DefaultHeartbeatTTL
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.DeliveryTTL == 0 {
		o.DeliveryTTL = DefaultDeliveryTTL
	}
	if o.EventLimit == 0 {
		o.EventLimit = DefaultEventLimit
	}
	if o.EventBytes == 0 {
		o.EventBytes = DefaultEventBytes
	}
	if o.BlockTimeout == 0 {
		o.BlockTimeout = min(DefaultBlockTimeout, o.HeartbeatTTL/4)
	}
	if o.FinalizeLease == 0 {
		o.FinalizeLease = DefaultFinalizeLease
	}
	if o.FinalizeDeadline == 0 {
		o.FinalizeDeadline = DefaultFinalizeDeadline
	}
	if o.TicketWindow == 0 {
		o.TicketWindow = DefaultTicketWindow
	}
	var errs []error
	if o.HeartbeatTTL < 3*time.Millisecond {
		errs = append(errs, fmt.Errorf("heartbeat TTL %s is too short", o.HeartbeatTTL))
	}
	if o.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max attempts %d: must be at least 1", o.MaxAttempts))
	}
	if o.Retention < time.Millisecond {
		errs = append(errs, fmt.Errorf("retention %s: must be positive", o.Retention))
	}
	if o.DeliveryTTL < DefaultDeliveryTTL {
		errs = append(errs, fmt.Errorf("delivery TTL %s: must be at least %s to cover redelivery", o.DeliveryTTL, DefaultDeliveryTTL))
	}
	if o.EventLimit < 1 {
		errs = append(errs, fmt.Errorf("event limit %d: must be positive", o.EventLimit))
	}
	if o.EventBytes < 4096 {
		errs = append(errs, fmt.Errorf("event bytes %d: must be at least 4096 (one entry)", o.EventBytes))
	}
	if o.BlockTimeout < time.Millisecond || o.BlockTimeout > o.HeartbeatTTL/4 {
		errs = append(errs, fmt.Errorf("block timeout %s: must be between 1ms and a quarter of the heartbeat TTL (%s)", o.BlockTimeout, o.HeartbeatTTL/4))
	}
	if o.FinalizeLease < 3*time.Millisecond || o.FinalizeDeadline < time.Millisecond {
		errs = append(errs, fmt.Errorf("finalize lease %s and deadline %s: must be positive", o.FinalizeLease, o.FinalizeDeadline))
	}
	if o.TicketWindow < time.Millisecond {
		errs = append(errs, fmt.Errorf("ticket window %s: must be at least 1ms", o.TicketWindow))
	}
	return o, errors.Join(errs...)
}

// Store keeps runs in Redis. It is safe for concurrent use; several stores
// (one per replica) share one Redis.
type Store struct {
	rdb  redis.UniversalClient
	opts Options
	// newID draws run ids; tests replace it to force a collision.
	newID func(time.Time) string
	// lastReclaim (unix ns) spaces out the reclaim passes of this process's
	// workers.
	lastReclaim atomic.Int64
	// loggedEpoch is the start (ms) of the last epoch whose grace was
	// logged, so it is logged once.
	loggedEpoch atomic.Int64
	// leases are the runs this process owns, by run id (*Lease): a change
	// this Store sees that ends one ends its work at once.
	leases sync.Map
	// cancels is the subscription to cancels announced by any replica,
	// held while this process keeps a lease.
	cancels cancelWatch
}

// NewStore returns a store on rdb. It does no I/O.
func NewStore(rdb redis.UniversalClient, opts Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("run store options: %w", err)
	}
	return &Store{rdb: rdb, opts: o, newID: NewID}, nil
}

// HeartbeatInterval is how often an owner should heartbeat its runs.
func (s *Store) HeartbeatInterval() time.Duration { return s.opts.HeartbeatTTL / 3 }

// HeartbeatTTL is how long a run stays owned without a heartbeat.
func (s *Store) HeartbeatTTL() time.Duration { return s.opts.HeartbeatTTL }

// epochGap is how long Redis may go unreached by every replica before
// reaching it again starts a new epoch (an outage).
func (s *Store) epochGap() time.Duration { return s.opts.HeartbeatTTL / 2 }

func (s *Store) runKey(id string) string       { return s.opts.Prefix + "run:" + id }
func (s *Store) eventsKey(id string) string    { return s.opts.Prefix + "run:" + id + ":events" }
func (s *Store) heartbeatKey(id string) string { return s.opts.Prefix + "run:" + id + ":heartbeat" }
func (s *Store) indexKey(st State) string      { return s.opts.Prefix + "runs:" + string(st) }
func (s *Store) queueKey() string              { return s.opts.Prefix + "queue" }
func (s *Store) finalizeKey() string           { return s.opts.Prefix + "finalize" }
func (s *Store) epochKey() string              { return s.opts.Prefix + "epoch" }
func (s *Store) createdKey() string            { return s.opts.Prefix + "runs:created" }
func (s *Store) ticketKey(tracker, ticket string) string {
	return s.opts.Prefix + "ticket:" + tracker + ":" + ticket
}
func (s *Store) deliveryKey(tracker, delivery string) string {
	return s.opts.Prefix + "delivery:" + tracker + ":" + delivery
}

// bodyKey remembers a delivery by its body's digest, next to its id.
func (s *Store) bodyKey(tracker, digest string) string {
	return s.opts.Prefix + "delivery:" + tracker + ":sha256:" + digest
}

// The per-ticket keys. Their names do not start with "ticket:", which are
// the claims the sweeper reads.
func (s *Store) ticketRecordKey(tracker, ticket string) string {
	return s.opts.Prefix + "ticket-record:" + tracker + ":" + ticket
}
func (s *Store) ticketRunsKey(tracker, ticket string) string {
	return s.opts.Prefix + "ticket-runs:" + tracker + ":" + ticket
}
func (s *Store) ticketOwnKey(tracker, ticket string) string {
	return s.opts.Prefix + "ticket-own:" + tracker + ":" + ticket
}

// recordTTL is how long a ticket's record and own comments are kept.
func (s *Store) recordTTL() time.Duration { return max(s.opts.Retention, minRecordTTL) }

// run executes a script with the prefix and group every script expects.
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	return script.Run(ctx, s.rdb, keys, append([]any{s.opts.Prefix, group}, args...)...)
}

func (s *Store) notify(r Run) {
	s.revokeIfOver(r)
	if s.opts.Notify != nil {
		s.opts.Notify(r)
	}
}

func (s *Store) log(ctx context.Context) logr.Logger { return logr.FromContextOrDiscard(ctx) }

// hashReply turns element i of a script reply, an HGETALL, into a Run.
func hashReply(reply []any, i int) (Run, error) {
	var v any
	if i < len(reply) {
		v = reply[i]
	}
	flat, ok := v.([]any)
	if !ok || len(flat)%2 != 0 {
		return Run{}, fmt.Errorf("unexpected run hash reply %T", v)
	}
	h := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		h[k] = val
	}
	return decodeRun(h)
}

// status splits a script's {status, ...} reply.
func status(v any) (string, []any, error) {
	reply, ok := v.([]any)
	if !ok || len(reply) == 0 {
		return "", nil, fmt.Errorf("unexpected script reply %T", v)
	}
	st, ok := reply[0].(string)
	if !ok {
		return "", nil, fmt.Errorf("unexpected script status %T", reply[0])
	}
	return st, reply[1:], nil
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
