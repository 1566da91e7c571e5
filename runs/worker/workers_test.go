package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
)

// recordingExecutor finishes every run it is given (ready → publish →
// succeed) and records who executed which attempt. With hold set it
// instead waits for its context to end, like a long pipeline step.
type recordingExecutor struct {
	owner string
	hold  bool

	mu         sync.Mutex
	executions map[string][]string // run → "owner#attempt" per execution
}

func (e *recordingExecutor) Execute(ctx context.Context, l *runs.Lease) error {
	run := l.Run()
	e.mu.Lock()
	if e.executions == nil {
		e.executions = map[string][]string{}
	}
	e.executions[run.ID] = append(e.executions[run.ID], fmt.Sprintf("%s#%d", e.owner, run.Attempt))
	e.mu.Unlock()
	if e.hold {
		<-ctx.Done()
		return ctx.Err()
	}
	for _, ev := range []runs.Event{runs.EventReady, runs.EventPublish, runs.EventSucceed} {
		if _, err := l.Apply(ctx, ev, runs.Update{}); err != nil {
			return err
		}
	}
	return nil
}

func (e *recordingExecutor) executed() map[string][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string][]string, len(e.executions))
	for k, v := range e.executions {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// replica is one orchestrator replica's workers over a shared Redis.
type replica struct {
	store   *runs.Store
	exec    *recordingExecutor
	workers *Workers
	stop    context.CancelFunc
	done    chan struct{}
}

func startReplica(t *testing.T, redisURL, name string, opts runs.Options, hold bool) *replica {
	t.Helper()
	store := newStore(t, redisURL, opts)
	ex := &recordingExecutor{owner: name, hold: hold}
	w := NewWorkers(store, ex, runs.Owner{Name: name, UID: "uid-" + name}, 4, testr.New(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{store: store, exec: ex, workers: w, stop: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); _ = w.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func newStore(t testing.TB, redisURL string, opts runs.Options) *runs.Store {
	t.Helper()
	o, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := runs.NewStore(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func submitRun(t *testing.T, s *runs.Store, ticket string) string {
	t.Helper()
	res, err := s.Submit(context.Background(), runs.Submission{
		Project: "todo", Pipeline: "fix-bug", Tracker: "gh", Ticket: ticket, Repos: []string{"api"},
	})
	if err != nil || res.Outcome != runs.OutcomeQueued {
		t.Fatalf("submit ticket %s: %v %v", ticket, res.Outcome, err)
	}
	return res.RunID
}

func getRun(g Gomega, s *runs.Store, id string) runs.Run {
	r, err := s.Get(context.Background(), id)
	g.Expect(err).NotTo(HaveOccurred())
	return r
}

var fastQueue = runs.Options{BlockTimeout: 50 * time.Millisecond, HeartbeatTTL: time.Second}

func TestRunsAreExecutedExactlyOnceAcrossTwoReplicas(t *testing.T) {
	const n = 40
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	a := startReplica(t, testenv.SharedRedis(t).URL(), "replica-a", fastQueue, false)
	b := startReplica(t, testenv.SharedRedis(t).URL(), "replica-b", fastQueue, false)

	ids := make([]string, n)
	for i := range ids {
		ids[i] = submitRun(t, a.store, strconv.Itoa(i))
	}
	for _, id := range ids {
		g.Eventually(func() runs.State { return getRun(g, a.store, id).State }).
			WithTimeout(30 * time.Second).Should(Equal(runs.StateSucceeded))
	}
	total := map[string]int{}
	for _, r := range []*replica{a, b} {
		for id, execs := range r.exec.executed() {
			total[id] += len(execs)
		}
	}
	for _, id := range ids {
		g.Expect(total[id]).To(Equal(1), "run %s executions", id)
	}
	g.Expect(a.exec.executed()).NotTo(BeEmpty(), "replica a took no run")
	g.Expect(b.exec.executed()).NotTo(BeEmpty(), "replica b took no run")
}

func TestDrainHandsRunBackAndAnotherReplicaFinishesItAtOnce(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	// A heartbeat that outlives the test: only a hand-back can move the run.
	long := runs.Options{BlockTimeout: 50 * time.Millisecond, HeartbeatTTL: time.Hour}
	a := startReplica(t, testenv.SharedRedis(t).URL(), "replica-a", long, true)
	id := submitRun(t, a.store, "7")
	g.Eventually(func() map[string][]string { return a.exec.executed() }).
		WithTimeout(10 * time.Second).Should(HaveKey(id))

	b := startReplica(t, testenv.SharedRedis(t).URL(), "replica-b", long, false)
	a.workers.Drain(10 * time.Millisecond)

	g.Eventually(func() runs.State { return getRun(g, a.store, id).State }).
		WithTimeout(10 * time.Second).Should(Equal(runs.StateSucceeded))
	run := getRun(g, a.store, id)
	g.Expect(run.Owner.Name).To(Equal("replica-b"))
	g.Expect(run.Attempt).To(Equal(2))
	g.Expect(b.exec.executed()[id]).To(Equal([]string{"replica-b#2"}))
}

func TestDrainLetsRunsInFlightFinishWithinGrace(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	a := startReplica(t, testenv.SharedRedis(t).URL(), "replica-a", fastQueue, false)
	id := submitRun(t, a.store, "8")
	g.Eventually(func() runs.State { return getRun(g, a.store, id).State }).
		WithTimeout(10 * time.Second).Should(Equal(runs.StateSucceeded))
	a.workers.Drain(time.Minute)
	g.Expect(getRun(g, a.store, id).Attempt).To(Equal(1))

	// A drained replica takes nothing new.
	late := submitRun(t, a.store, "9")
	g.Consistently(func() runs.State { return getRun(g, a.store, late).State }).
		WithTimeout(300 * time.Millisecond).Should(Equal(runs.StateQueued))
}

func TestKilledReplicaRunIsFinishedByAnotherAsNextAttempt(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	store := newStore(t, testenv.SharedRedis(t).URL(), fastQueue)
	id := submitRun(t, store, "11")

	proc := spawnReplica(t, testenv.SharedRedis(t).URL(), "replica-a")
	g.Eventually(func() string { return getRun(g, store, id).Owner.Name }).
		WithTimeout(30 * time.Second).Should(Equal("replica-a"))
	g.Expect(proc.Process.Signal(syscall.SIGKILL)).To(Succeed())
	_ = proc.Wait()

	b := startReplica(t, testenv.SharedRedis(t).URL(), "replica-b", fastQueue, false)
	g.Eventually(func() runs.State { return getRun(g, store, id).State }).
		WithTimeout(20 * time.Second).Should(Equal(runs.StateSucceeded))
	run := getRun(g, store, id)
	g.Expect(run.Attempt).To(Equal(2))
	g.Expect(run.Reclaims).To(Equal(1))
	g.Expect(b.exec.executed()[id]).To(Equal([]string{"replica-b#2"}))
}

func TestRunFailsWithReasonAfterMaxAttemptsLostToDeadReplicas(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	opts := fastQueue
	opts.MaxAttempts = 2
	store := newStore(t, testenv.SharedRedis(t).URL(), opts)
	id := submitRun(t, store, "12")

	for attempt := 1; attempt <= 2; attempt++ {
		proc := spawnReplica(t, testenv.SharedRedis(t).URL(), fmt.Sprintf("doomed-%d", attempt), "MAX_ATTEMPTS=2")
		g.Eventually(func() int {
			r := getRun(g, store, id)
			if r.State.Active() {
				return r.Attempt
			}
			return 0
		}).WithTimeout(30*time.Second).Should(Equal(attempt), "attempt %d starts", attempt)
		g.Expect(proc.Process.Signal(syscall.SIGKILL)).To(Succeed())
		_ = proc.Wait()
	}
	// A live replica reclaims the second lost attempt and gives up.
	startReplica(t, testenv.SharedRedis(t).URL(), "replica-b", opts, false)
	g.Eventually(func() runs.State { return getRun(g, store, id).State }).
		WithTimeout(20 * time.Second).Should(Equal(runs.StateFailed))
	g.Expect(getRun(g, store, id).Error).To(ContainSubstring("2 attempts"))
}

func TestQueuedRunSurvivesRedisRestartWithAppendOnly(t *testing.T) {
	g := NewWithT(t)
	aof := testenv.OwnRedis(t, testenv.WithAppendOnly())
	store := newStore(t, aof.URL(), fastQueue)
	id := submitRun(t, store, "13")

	g.Expect(aof.Restart()).To(Succeed())

	startReplica(t, aof.URL(), "replica-a", fastQueue, false)
	g.Eventually(func() runs.State { return getRun(g, store, id).State }).
		WithTimeout(20 * time.Second).Should(Equal(runs.StateSucceeded))
}

const replicaEnv = "AGENTSMITH_TEST_REPLICA"

// spawnReplica starts this test binary as a replica process holding every
// run it takes (its executor never returns), to be killed by the test.
func spawnReplica(t *testing.T, redisURL, name string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), replicaEnv+"="+name, "REDIS_URL="+redisURL)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// runReplica is the replica process of spawnReplica.
func runReplica() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	o, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := fastQueue
	if n, err := strconv.Atoi(os.Getenv("MAX_ATTEMPTS")); err == nil {
		opts.MaxAttempts = n
	}
	store, err := runs.NewStore(redis.NewClient(o), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	name := os.Getenv(replicaEnv)
	ex := &recordingExecutor{owner: name, hold: true}
	w := NewWorkers(store, ex, runs.Owner{Name: name, UID: "uid-" + name}, 1, logr.Discard(), nil)
	if err := w.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestSettleDecidesByTheRunAsItIsNow(t *testing.T) {
	const ours = 1700000000002
	at := func(fence int64, state runs.State) runs.Run { return runs.Run{ID: "r", Fence: fence, State: state} }
	for _, tc := range []struct {
		name              string
		last              runs.State // where the owner's last transition led
		now               runs.Run
		found             bool
		draining, expired bool
		want              settlement
	}{
		{"the run is gone", "", runs.Run{}, false, false, false, settleLost},
		{"another start is running it", "", at(ours+1, runs.StateRunning), true, false, false, settleLost},
		{"another start finished it", runs.StateSucceeded, at(ours+1, runs.StateSucceeded), true, true, false, settleLost},
		{"it succeeded", runs.StateSucceeded, at(ours, runs.StateSucceeded), true, false, false, settleReport},
		{"it succeeded as the drain began", runs.StateSucceeded, at(ours, runs.StateSucceeded), true, true, false, settleReport},
		{"it was cancelled", runs.StateRunning, at(ours, runs.StateCancelled), true, false, false, settleReport},
		{"it waits for an answer", runs.StateAwaitingInput, at(ours, runs.StateAwaitingInput), true, true, false, settleReport},
		{"Redis lost its success", runs.StateSucceeded, at(ours, runs.StatePublishing), true, false, false, settleReassert},
		{"Redis lost its success and more", runs.StateSucceeded, at(ours, runs.StateProvisioning), true, true, true, settleReassert},
		{"Redis lost its parking", runs.StateAwaitingInput, at(ours, runs.StateRunning), true, false, false, settleReassert},
		{"Redis lost everything since the start", runs.StateSucceeded, at(ours, runs.StateStarting), true, false, false, settleReassert},
		{"the drain cut it short", runs.StatePublishing, at(ours, runs.StatePublishing), true, true, false, settleHandBack},
		{"its lease expired in an outage", runs.StateRunning, at(ours, runs.StateRunning), true, false, true, settleHandBack},
		{"Redis did not answer its publish", runs.StatePublishing, at(ours, runs.StateRunning), true, false, true, settleHandBack},
		{"the executor left it active", runs.StateRunning, at(ours, runs.StateRunning), true, false, false, settleFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			NewWithT(t).Expect(decide(ours, tc.last, tc.now, tc.found, tc.draining, tc.expired)).To(Equal(tc.want))
		})
	}
}

func TestTheLastTransitionLeadsWhereTheMachineSays(t *testing.T) {
	for _, tc := range []struct {
		ev   runs.Event
		ok   bool
		want runs.State
	}{
		{"", false, ""},
		{runs.EventProvision, true, runs.StateProvisioning},
		{runs.EventReady, true, runs.StateRunning},
		{runs.EventPublish, true, runs.StatePublishing},
		{runs.EventAwaitInput, true, runs.StateAwaitingInput},
		{runs.EventSucceed, true, runs.StateSucceeded},
	} {
		NewWithT(t).Expect(lastTarget(tc.ev, tc.ok)).To(Equal(tc.want), string(tc.ev))
	}
}

// finishThenHold finishes every run, then holds on until its context ends,
// as a pipeline still winding down when its heartbeat next ticks would.
type finishThenHold struct{}

func (finishThenHold) Execute(ctx context.Context, l *runs.Lease) error {
	for _, ev := range []runs.Event{runs.EventReady, runs.EventPublish, runs.EventSucceed} {
		if _, err := l.Apply(ctx, ev, runs.Update{}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestRunFinishedBeforeItsHeartbeatTickedIsCountedAsItEnded(t *testing.T) {
	g := NewWithT(t)
	testenv.SharedRedis(t).Flush(t)
	store := newStore(t, testenv.SharedRedis(t).URL(), fastQueue)
	w := NewWorkers(store, finishThenHold{}, runs.Owner{Name: "replica-a"}, 1, testr.New(t), prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	id := submitRun(t, store, "21")
	finished := func(outcome string) float64 { return counterValue(w.metrics.finished.WithLabelValues(outcome)) }
	g.Eventually(func() float64 { return finished(string(runs.StateSucceeded)) }).WithTimeout(20 * time.Second).Should(Equal(1.0))
	g.Expect(finished("lease_lost")).To(BeZero())
	g.Expect(getRun(g, store, id)).To(And(HaveField("State", runs.StateSucceeded), HaveField("Attempt", 1)))
}

// counterValue is what counter counts now.
func counterValue(counter prometheus.Counter) float64 {
	m := &dto.Metric{}
	if err := counter.Write(m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
