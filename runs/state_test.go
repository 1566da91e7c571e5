package runs

import (
	"errors"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestTransitionTableCoversEveryStateEventPair(t *testing.T) {
	// Written out independently of the implementation's table. The owner's
	// forward events also apply from an earlier active state: its own
	// transition before was lost with Redis's last second.
	legal := map[State]map[Event]State{
		StateQueued: {
			EventStart:  StateStarting,
			EventCancel: StateCancelled,
		},
		StateStarting: {
			EventProvision: StateProvisioning, EventFail: StateFailed, EventCancel: StateCancelled,
			EventHandBack: StateQueued, EventRetry: StateQueued,
			EventReady: StateRunning, EventPublish: StatePublishing, EventSucceed: StateSucceeded,
			EventAwaitInput: StateAwaitingInput,
		},
		StateProvisioning: {
			EventReady: StateRunning, EventFail: StateFailed, EventCancel: StateCancelled,
			EventHandBack: StateQueued, EventRetry: StateQueued,
			EventPublish: StatePublishing, EventSucceed: StateSucceeded, EventAwaitInput: StateAwaitingInput,
		},
		StateRunning: {
			EventPublish: StatePublishing, EventAwaitInput: StateAwaitingInput,
			EventFail: StateFailed, EventCancel: StateCancelled,
			EventHandBack: StateQueued, EventRetry: StateQueued,
			EventSucceed: StateSucceeded,
		},
		StatePublishing: {
			EventSucceed: StateSucceeded, EventFail: StateFailed, EventCancel: StateCancelled,
			EventHandBack: StateQueued, EventRetry: StateQueued,
		},
		StateAwaitingInput: {
			EventResume: StateQueued, EventCancel: StateCancelled,
		},
		StateSucceeded: {},
		StateFailed:    {EventRestart: StateQueued},
		StateCancelled: {EventRestart: StateQueued},
	}
	if len(legal) != len(States) {
		t.Fatalf("the test table covers %d states, the package has %d", len(legal), len(States))
	}
	pairs := 0
	for _, from := range States {
		for _, ev := range Events {
			pairs++
			t.Run(string(from)+"/"+string(ev), func(t *testing.T) {
				g := NewWithT(t)
				to, err := Transition(from, ev)
				if want, ok := legal[from][ev]; ok {
					g.Expect(err).NotTo(HaveOccurred())
					g.Expect(to).To(Equal(want))
					return
				}
				g.Expect(err).To(MatchError(ErrIllegalTransition))
				g.Expect(err.Error()).To(And(ContainSubstring(string(from)), ContainSubstring(string(ev))))
				var te *TransitionError
				g.Expect(errors.As(err, &te)).To(BeTrue())
				g.Expect(te.From).To(Equal(from))
				g.Expect(te.Event).To(Equal(ev))
			})
		}
	}
	if pairs != 9*12 {
		t.Fatalf("walked %d pairs, want every one of 9 states x 12 events", pairs)
	}
}

func TestTransitionRejectsUnknownNames(t *testing.T) {
	for _, tc := range []struct {
		from State
		ev   Event
	}{{"lost", EventStart}, {StateQueued, "explode"}, {"", ""}} {
		_, err := Transition(tc.from, tc.ev)
		NewWithT(t).Expect(err).To(MatchError(ErrIllegalTransition), "%q/%q", tc.from, tc.ev)
	}
}

func TestEffectsFollowFromTheTargetState(t *testing.T) {
	tests := []struct {
		ev   Event
		want effects
	}{
		{EventStart, effects{start: true}},
		{EventProvision, effects{}},
		{EventReady, effects{}},
		{EventPublish, effects{}},
		{EventSucceed, effects{ack: true, finalize: true, expire: true, stop: true}},
		{EventFail, effects{ack: true, finalize: true, expire: true, stop: true}},
		{EventCancel, effects{ack: true, finalize: true, expire: true, stop: true}},
		// A parked run leaves the queue but keeps its ticket and never expires.
		{EventAwaitInput, effects{ack: true, stop: true}},
		{EventResume, effects{requeue: true, stop: true}},
		{EventHandBack, effects{requeue: true, stop: true}},
		{EventRetry, effects{requeue: true, stop: true, reclaimed: true}},
		// Restart's script takes the ticket back and lifts the expiry.
		{EventRestart, effects{requeue: true, stop: true}},
	}
	if len(tests) != len(Events) {
		t.Fatalf("%d events tested, %d exist", len(tests), len(Events))
	}
	for _, tc := range tests {
		NewWithT(t).Expect(effectsOf(tc.ev)).To(Equal(tc.want), string(tc.ev))
	}
}

func TestEncodedPlanListsEveryLegalSourceState(t *testing.T) {
	g := NewWithT(t)
	for _, ev := range Events {
		from, rest, _ := strings.Cut(encodePlan(ev), "|")
		to, _, _ := strings.Cut(rest, "|")
		for _, st := range States {
			want, err := Transition(st, ev)
			g.Expect(strings.Contains(","+from+",", ","+string(st)+",")).To(Equal(err == nil), "%s from %s", ev, st)
			if err == nil {
				g.Expect(to).To(Equal(string(want)))
			}
		}
	}
}

func TestTheScriptsKnowTheActiveStates(t *testing.T) {
	common, err := luaFiles.ReadFile("lua/common.lua")
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, st := range activeStates {
		parts = append(parts, string(st)+" = true")
	}
	want := "local active_states = { " + strings.Join(parts, ", ") + " }"
	NewWithT(t).Expect(string(common)).To(ContainSubstring(want))
}
