package pipeline_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline"
	"github.com/agent-smith/agent-smith/runs/worker"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// leaveActive is an executor that opens the status comment, marks the
// ticket in progress and returns with the run still active: the worker
// must fail it.
type leaveActive struct{ cfg *config.Config }

func (e leaveActive) Execute(ctx context.Context, lease *runs.Lease) error {
	steps := []runs.StepRecord{{Name: "ticket", State: "done"}, {Name: "plan", State: "running"}}
	_, _, err := startWork(ctx, e.cfg, lease, steps)
	return err
}

// startWork plays a run's first steps on its ticket as the pipeline does:
// the status comment opened for steps, the run at the last of them, the
// ticket in progress. It returns the guarded tracker and the comment's id.
func startWork(ctx context.Context, cfg *config.Config, lease *runs.Lease, steps []runs.StepRecord) (trackers.Tracker, string, error) {
	raw, err := connect.Tracker(cfg, "issues")
	if err != nil {
		return nil, "", err
	}
	run := lease.Run()
	tr := pipeline.GuardTracker(raw, lease)
	t, err := tr.Ticket(ctx, run.Ticket)
	if err != nil {
		return nil, "", err
	}
	names := make([]string, len(steps))
	current := ""
	for i, s := range steps {
		names[i] = s.Name
		if s.State == "running" {
			current = s.Name
		}
	}
	status, err := pipeline.EnsureStatusComment(ctx, tr, t, run, names...)
	if err != nil {
		return nil, "", err
	}
	if _, err := lease.Update(ctx, runs.Update{StatusCommentID: status, Step: current, Steps: steps}); err != nil {
		return nil, "", err
	}
	return tr, status, tr.SetLifecycle(ctx, run.Ticket, trackers.LifecycleInProgress)
}

// endingWorld is a store on its own redis-server with the real finalizer
// (the pipeline's Finalize) telling GitHub's fake.
type endingWorld struct {
	*faultWorld
	store *runs.Store
}

func newEndingWorld(t *testing.T, opts runs.Options) *endingWorld {
	g := NewWithT(t)
	f := newFaultWorld(t)
	client := redis.NewClient(&redis.Options{Addr: f.redis.Addr})
	t.Cleanup(func() { _ = client.Close() })
	opts.Prefix = "endings:"
	store, err := runs.NewStore(client, opts)
	g.Expect(err).NotTo(HaveOccurred())
	cfg := f.cfg
	pipe, err := pipeline.New(pipeline.Deps{Config: func() *config.Config { return cfg }, Tracker: connect.Tracker, RepoHost: connect.RepoHost,
		Store: store, Provisioner: noSandbox{}, Skills: skills.NewLoader(nil),
		Models: func(context.Context, *config.Config, string, llm.Slot, string) (*llm.Model, error) {
			return nil, errors.New("no model")
		}})
	g.Expect(err).NotTo(HaveOccurred())
	log := testr.NewWithInterface(t, testr.Options{})
	fin := worker.NewFinalizer(store, pipe, "replica-a", worker.FinalizerOptions{Backoff: 100 * time.Millisecond}, log, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Go(func() { _ = fin.Start(ctx) })
	t.Cleanup(func() { cancel(); done.Wait() })
	return &endingWorld{faultWorld: f, store: store}
}

func (w *endingWorld) submit(n int) string {
	res, err := w.store.Submit(context.Background(), runs.Submission{Project: "calc", Pipeline: "fix-bug", Tracker: "issues",
		Ticket: strconv.Itoa(n), Repos: []string{"calc"}, Trigger: "label agent-smith added"})
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	return res.RunID
}

// expectFinal waits for the finalizer and checks the ticket: exactly the
// comments marks names (once each), the lifecycle label want and no
// other, and the claim released.
func (w *endingWorld) expectFinal(id string, n int, want trackers.Lifecycle, marks ...string) runs.Run {
	g := NewWithT(w.t)
	ctx := context.Background()
	var run runs.Run
	g.Eventually(func() (runs.FinalizeState, error) {
		var err error
		run, err = w.store.Get(ctx, id)
		return run.Finalize, err
	}).WithTimeout(30 * time.Second).WithPolling(20 * time.Millisecond).Should(Equal(runs.FinalizeDone))
	is, _ := w.fake.Issue(repoName, n)
	got := map[string]int{}
	for _, c := range is.Comments {
		first, _, _ := strings.Cut(c.Body, "\n")
		got[first]++
	}
	wantMarks := map[string]int{}
	for _, m := range marks {
		wantMarks[trackers.MarkPrefix+m+" run="+id+" -->"] = 1
	}
	g.Expect(got).To(Equal(wantMarks), "comments: %q", bodies(is.Comments))
	var lifecycle []string
	for _, l := range is.Labels {
		if trackers.IsLifecycleLabel(l) {
			lifecycle = append(lifecycle, l)
		}
	}
	g.Expect(lifecycle).To(Equal([]string{want.Label()}))
	active, err := w.store.ActiveRun(ctx, "issues", strconv.Itoa(n))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(active).To(BeEmpty(), "the claim goes once the ticket was told")
	return run
}

func TestWorkerFailingARunItsExecutorLeftActiveLeavesTheTicketFinal(t *testing.T) {
	w := newEndingWorld(t, runs.Options{})
	workers := worker.NewWorkers(w.store, leaveActive{cfg: w.cfg}, runs.Owner{Name: "replica-a"}, 1, testr.New(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Go(func() { _ = workers.Start(ctx) })
	t.Cleanup(func() { cancel(); done.Wait() })
	id := w.submit(1)
	run := w.expectFinal(id, 1, trackers.LifecycleFailed, "status", "failed")
	NewWithT(t).Expect(run.Error).To(ContainSubstring("the pipeline ended without finishing the run"))
	is, _ := w.fake.Issue(repoName, 1)
	NewWithT(t).Expect(is.Comments[0].Body).To(ContainSubstring("failed at step `plan`"))
}

func TestReclaimGivingUpLeavesTheTicketFinal(t *testing.T) {
	g := NewWithT(t)
	w := newEndingWorld(t, runs.Options{MaxAttempts: 1, HeartbeatTTL: 300 * time.Millisecond, BlockTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	id := w.submit(2)
	lease, err := w.store.Dequeue(ctx, runs.Owner{Name: "replica-dead"})
	g.Expect(err).NotTo(HaveOccurred())
	lease.Close() // the owner dies: no more heartbeats
	g.Eventually(func() (runs.State, error) {
		if _, err := w.store.Reclaim(ctx, "replica-b"); err != nil {
			return "", err
		}
		r, err := w.store.Get(ctx, id)
		return r.State, err
	}).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Equal(runs.StateFailed))
	run := w.expectFinal(id, 2, trackers.LifecycleFailed, "failed")
	g.Expect(run.Error).To(ContainSubstring("gave up after 1 attempts"))
}

func TestCancelLeavesTheTicketFinal(t *testing.T) {
	g := NewWithT(t)
	w := newEndingWorld(t, runs.Options{})
	id := w.submit(3)
	_, err := w.store.Apply(context.Background(), id, runs.EventCancel, runs.Update{Error: "cancelled by alice"})
	g.Expect(err).NotTo(HaveOccurred())
	w.expectFinal(id, 3, trackers.LifecycleCancelled, "cancelled")
	is, _ := w.fake.Issue(repoName, 3)
	g.Expect(is.Comments[0].Body).To(ContainSubstring("cancelled by alice"))
}

// A run cancelled because its ticket was closed and its trigger label
// taken off (intake's withdrawal): the finalizer tells the ticket and
// leaves it as the user did, closed and without the label.
func TestCancelOfAClosedUnlabeledTicketLeavesItClosedAndUnlabeled(t *testing.T) {
	g := NewWithT(t)
	w := newEndingWorld(t, runs.Options{})
	id := w.submit(5)
	w.fake.RemoveLabel(repoName, 5, "agent-smith")
	w.fake.CloseIssue(repoName, 5)
	_, err := w.store.Cancel(context.Background(), id, "tracker issues", "ticket closed")
	g.Expect(err).NotTo(HaveOccurred())
	w.expectFinal(id, 5, trackers.LifecycleCancelled, "cancelled")
	is, _ := w.fake.Issue(repoName, 5)
	g.Expect(is.State).To(Equal("closed"), "the finalizer does not reopen the ticket")
	g.Expect(is.Labels).To(ConsistOf("calc", trackers.LifecycleCancelled.Label()), "nor put the trigger label back")
	g.Expect(is.Comments[0].Body).To(ContainSubstring("ticket closed"))
}

func TestHousekeeperExpiresParkedRunsWithAComment(t *testing.T) {
	g := NewWithT(t)
	w := newEndingWorld(t, runs.Options{})
	ctx := context.Background()
	id := w.submit(4)
	lease, err := w.store.Dequeue(ctx, runs.Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	steps := []runs.StepRecord{{Name: "ticket", State: "done"}, {Name: "plan", State: "done"}}
	_, err = lease.Apply(ctx, runs.EventAwaitInput, runs.Update{Step: "plan", Steps: steps})
	g.Expect(err).NotTo(HaveOccurred())
	lease.Close()

	hk := worker.NewHousekeeper(w.store, "replica-a", 50*time.Millisecond, func() time.Duration { return 0 }, testr.New(t))
	hctx, stop := context.WithCancel(ctx)
	var done sync.WaitGroup
	done.Go(func() { _ = hk.Start(hctx) })
	defer func() { stop(); done.Wait() }()
	run := w.expectFinal(id, 4, trackers.LifecycleCancelled, "status", "cancelled")
	g.Expect(run.Outcome.Kind).To(Equal(runs.OutcomeExpired))
	is, _ := w.fake.Issue(repoName, 4)
	g.Expect(bodies(is.Comments)).To(ContainElement(ContainSubstring("stopped waiting for answers")))
}
