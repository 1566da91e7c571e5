package intake

import (
	"sync"

	"github.com/go-logr/logr"
)

// noticeCap bounds the tickets notices remembers; the oldest is dropped.
const noticeCap = 4096

// notices says at info, once per ticket and reason, why a ticket someone
// asked for work on gets none (it matches no project, its trigger was
// acted on already, it reached its cap), so a user who labels a ticket and
// sees nothing happen finds the reason in the log at its default level.
// Repeats (every poll, redeliveries) go to V(1). It is safe for concurrent
// use.
type notices struct {
	mu     sync.Mutex
	reason map[string]string
	// ring holds the keys in the order they were added.
	ring []string
	next int
}

func newNotices() *notices {
	return &notices{reason: map[string]string{}, ring: make([]string, noticeCap)}
}

// log logs msg about the ticket with its reason to log, which names the
// tracker and ticket: at info the first time for the ticket or when its
// reason changed, else at V(1).
func (n *notices) log(log logr.Logger, tracker, ticket, msg, reason string) {
	level := 1
	if n.fresh(tracker+"\x00"+ticket, reason) {
		level = 0
	}
	log.V(level).Info(msg, "reason", reason)
}

// fresh records reason for key and reports whether it differs from the
// one recorded.
func (n *notices) fresh(key, reason string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	last, known := n.reason[key]
	if known {
		n.reason[key] = reason
		return last != reason
	}
	if old := n.ring[n.next]; old != "" {
		delete(n.reason, old)
	}
	n.ring[n.next] = key
	n.next = (n.next + 1) % len(n.ring)
	n.reason[key] = reason
	return true
}
