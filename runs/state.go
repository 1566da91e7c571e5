package runs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// State is where a run is in its life.
type State string

// The states of a run. Starting, provisioning, running and publishing are
// active: a replica owns the run and keeps its heartbeat alive. A run starts
// (its ticket is read) before its sandboxes are provisioned.
const (
	StateQueued        State = "queued"
	StateStarting      State = "starting"
	StateProvisioning  State = "provisioning"
	StateRunning       State = "running"
	StatePublishing    State = "publishing"
	StateAwaitingInput State = "awaiting_input"
	StateSucceeded     State = "succeeded"
	StateFailed        State = "failed"
	StateCancelled     State = "cancelled"
)

// States lists every state, in life order.
var States = []State{
	StateQueued, StateStarting, StateProvisioning, StateRunning, StatePublishing,
	StateAwaitingInput, StateSucceeded, StateFailed, StateCancelled,
}

var activeStates = []State{StateStarting, StateProvisioning, StateRunning, StatePublishing}

// ActiveStates lists the states in which a replica owns a run, in life order.
func ActiveStates() []State { return slices.Clone(activeStates) }

// Active reports whether a replica owns the run and must heartbeat it.
func (s State) Active() bool { return slices.Contains(activeStates, s) }

// Terminal reports whether the run is over.
func (s State) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// Event is what happens to a run.
type Event string

// The events of the state machine.
const (
	// EventStart: a consumer took the run from the queue (Dequeue applies it).
	EventStart Event = "start"
	// EventProvision: the owner read the ticket and is starting the run's
	// sandboxes.
	EventProvision Event = "provision"
	// EventReady: every sandbox of the run is up.
	EventReady Event = "ready"
	// EventPublish: the code is done; branches, pull requests and the ticket
	// are being written.
	EventPublish Event = "publish"
	// EventSucceed: everything is published.
	EventSucceed Event = "succeed"
	// EventFail: the run cannot go on.
	EventFail Event = "fail"
	// EventCancel: a user or the ticket's state called the run off.
	EventCancel Event = "cancel"
	// EventAwaitInput: the plan asked questions; the run parks until answered.
	EventAwaitInput Event = "await_input"
	// EventResume: the questions were answered; the run queues again.
	EventResume Event = "resume"
	// EventHandBack: a draining replica returns the run for another one.
	EventHandBack Event = "hand_back"
	// EventRetry: the owner stopped heartbeating; the run queues again
	// (Reclaim applies it).
	EventRetry Event = "retry"
	// EventRestart: someone asked for a new attempt of a failed or
	// cancelled run (Restart applies it: the run takes its ticket back).
	EventRestart Event = "restart"
)

// EventSubmit names the creation of a run in its log. It is not an event
// of the state machine: a run starts queued.
const EventSubmit Event = "submit"

// Events lists every event.
var Events = []Event{
	EventStart, EventProvision, EventReady, EventPublish, EventSucceed, EventFail,
	EventCancel, EventAwaitInput, EventResume, EventHandBack, EventRetry,
	EventRestart,
}

// rule is one event's edge set: every event has exactly one target state,
// which is what lets the store's scripts stay generic.
type rule struct {
	from []State
	to   State
}

// The owner's forward events (ready, publish, succeed, await input) also
// apply from an earlier active state: they carry the owner's fence, which proves
// the caller owns the run, so a state behind what the owner last applied
// can only mean that its own earlier transition was lost with Redis's last
// second of writes.
var machine = map[Event]rule{
	EventStart:      {from: []State{StateQueued}, to: StateStarting},
	EventProvision:  {from: []State{StateStarting}, to: StateProvisioning},
	EventReady:      {from: []State{StateStarting, StateProvisioning}, to: StateRunning},
	EventPublish:    {from: []State{StateStarting, StateProvisioning, StateRunning}, to: StatePublishing},
	EventSucceed:    {from: activeStates, to: StateSucceeded},
	EventFail:       {from: activeStates, to: StateFailed},
	EventCancel:     {from: []State{StateQueued, StateStarting, StateProvisioning, StateRunning, StatePublishing, StateAwaitingInput}, to: StateCancelled},
	EventAwaitInput: {from: []State{StateStarting, StateProvisioning, StateRunning}, to: StateAwaitingInput},
	EventResume:     {from: []State{StateAwaitingInput}, to: StateQueued},
	EventHandBack:   {from: activeStates, to: StateQueued},
	EventRetry:      {from: activeStates, to: StateQueued},
	EventRestart:    {from: []State{StateFailed, StateCancelled}, to: StateQueued},
}

// ownerEvents are the events only the run's owner applies: they must carry
// its fence (Update.Fence).
var ownerEvents = []Event{EventProvision, EventReady, EventPublish, EventSucceed, EventAwaitInput, EventHandBack}

// ErrIllegalTransition is matched (errors.Is) by every *TransitionError.
var ErrIllegalTransition = errors.New("illegal transition")

// TransitionError is an event that does not apply in a state.
type TransitionError struct {
	From  State
	Event Event
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("illegal transition: event %q in state %q", e.Event, e.From)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// Transition is the state machine: the state a run in from moves to on ev,
// or a *TransitionError naming both.
func Transition(from State, ev Event) (State, error) {
	r, ok := machine[ev]
	if !ok || !slices.Contains(r.from, from) {
		return "", &TransitionError{From: from, Event: ev}
	}
	return r.to, nil
}

// effects is everything a transition does besides setting the state. It is
// a pure function of the event, so the scripts never decide policy.
type effects struct {
	requeue bool // retire the queue entry and add a fresh one; a new attempt begins
	ack     bool // retire the queue entry: nobody works on the run now
	// finalize queues the run for the finalizer, which tells the ticket and
	// only then drops the ticket claim.
	finalize  bool
	expire    bool // start the retention clock on the run and its events
	stop      bool // drop the heartbeat: no replica owns the run now
	start     bool // record the owner and start its heartbeat
	reclaimed bool // count an attempt lost to a dead owner
}

func effectsOf(ev Event) effects {
	to := machine[ev].to
	return effects{
		requeue:   to == StateQueued,
		ack:       to.Terminal() || to == StateAwaitingInput,
		finalize:  to.Terminal(),
		expire:    to.Terminal(),
		stop:      !to.Active(),
		start:     ev == EventStart,
		reclaimed: ev == EventRetry,
	}
}

// encodePlan renders an event's rule and effects for the scripts as
// "from,from|to|flag,flag".
func encodePlan(ev Event) string {
	r := machine[ev]
	from := make([]string, len(r.from))
	for i, s := range r.from {
		from[i] = string(s)
	}
	e := effectsOf(ev)
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{e.requeue, "requeue"}, {e.ack, "ack"}, {e.finalize, "finalize"}, {e.expire, "expire"},
		{e.stop, "stop"}, {e.start, "start"}, {e.reclaimed, "reclaimed"},
	} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	return strings.Join(from, ",") + "|" + string(r.to) + "|" + strings.Join(flags, ",")
}
