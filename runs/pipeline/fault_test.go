package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline"
	"github.com/agent-smith/agent-smith/runs/worker"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
	"github.com/agent-smith/agent-smith/trackers/intake"
)

// The fault suite plays Redis faults against two in-process replicas on a
// real redis-server: the real store, workers, finalizer, intake, recovery
// and housekeeper, GitHub's fake over real HTTP with signed deliveries, and
// a scripted executor that makes a run's side effects through the
// pipeline's own guarded tracker and host. The heartbeat TTL is scaled to
// 2.5 s (a shared 2-core machine starves 1.5 s) with every ratio of the product kept (renewal TTL/3, local margin
// TTL/6, gap TTL/2, client timeouts TTL/10, outage 2 TTL).
const (
	faultTTL     = 2500 * time.Millisecond
	faultTickets = 60
)

// ledger records every write that reached GitHub, by ticket and by the
// start (fence) that made it; the finalizer's writes carry fence 0.
type ledger struct {
	mu     sync.Mutex
	writes []write
}

type write struct {
	ticket     string
	fence      int64
	what       string
	start, end time.Time
}

func (l *ledger) record(ticket string, fence int64, what string, do func() error) error {
	w := write{ticket: ticket, fence: fence, what: what, start: time.Now()}
	err := do()
	w.end = time.Now()
	if err == nil {
		l.mu.Lock()
		l.writes = append(l.writes, w)
		l.mu.Unlock()
	}
	return err
}

// ledgerTracker records the writes of a tracker (below the guard: only
// writes the guard let through reach it).
type ledgerTracker struct {
	trackers.Tracker
	l     *ledger
	fence int64
}

func (t ledgerTracker) Comment(ctx context.Context, id, body string) (c string, err error) {
	err = t.l.record(id, t.fence, "comment", func() error { c, err = t.Tracker.Comment(ctx, id, body); return err })
	return c, err
}

func (t ledgerTracker) EditComment(ctx context.Context, id, commentID, body string) error {
	return t.l.record(id, t.fence, "edit", func() error { return t.Tracker.EditComment(ctx, id, commentID, body) })
}

func (t ledgerTracker) SetLifecycle(ctx context.Context, id string, lc trackers.Lifecycle) error {
	return t.l.record(id, t.fence, "label", func() error { return t.Tracker.SetLifecycle(ctx, id, lc) })
}

func (t ledgerTracker) Complete(ctx context.Context, id, done, comment string) error {
	return t.l.record(id, t.fence, "complete", func() error { return t.Tracker.Complete(ctx, id, done, comment) })
}

// faultExecutor is a run as the pipeline makes it, without sandbox, git or
// model: read the ticket, open the status comment, mark the ticket in
// progress, work, publish (push the branch, open the pull request) and
// succeed, each write guarded by the lease.
type faultExecutor struct {
	f    *faultWorld
	work time.Duration
}

func (e faultExecutor) Execute(ctx context.Context, lease *runs.Lease) error {
	run := lease.Run()
	raw, err := connect.Tracker(e.f.cfg, "issues")
	if err != nil {
		return err
	}
	tr := pipeline.GuardTracker(ledgerTracker{Tracker: raw, l: &e.f.ledger, fence: run.Fence}, lease)
	t, err := tr.Ticket(ctx, run.Ticket)
	if err != nil {
		return err
	}
	status, err := pipeline.EnsureStatusComment(ctx, tr, t, run, "ticket", "work", "pull-requests")
	if err != nil {
		return err
	}
	steps := []runs.StepRecord{{Name: "ticket", State: "done"}, {Name: "work", State: "running"}, {Name: "pull-requests", State: "pending"}}
	if _, err := lease.Update(ctx, runs.Update{StatusCommentID: status, Step: "work", Steps: steps}); err != nil {
		return err
	}
	if err := tr.SetLifecycle(ctx, run.Ticket, trackers.LifecycleInProgress); err != nil {
		return err
	}
	work := time.NewTimer(e.work) // the model and the tests: workload, not synchronisation
	select {
	case <-ctx.Done():
		work.Stop()
		return context.Cause(ctx)
	case <-work.C:
	}
	return e.publish(ctx, lease, steps)
}

func (e faultExecutor) publish(ctx context.Context, lease *runs.Lease, steps []runs.StepRecord) error {
	run := lease.Run()
	if _, err := lease.Apply(ctx, runs.EventPublish, runs.Update{}); err != nil {
		return err
	}
	branch := "agent-smith/" + run.Ticket
	if err := lease.Guard(ctx); err != nil {
		return err
	}
	_ = e.f.ledger.record(run.Ticket, run.Fence, "push", func() error { e.f.fake.CreateBranch(repoName, branch); return nil })
	raw, err := connect.RepoHost(e.f.cfg, "calc")
	if err != nil {
		return err
	}
	host := pipeline.GuardHost(raw, lease)
	var pr trackers.PullRequestRef
	err = e.f.ledger.record(run.Ticket, run.Fence, "pull request", func() (err error) {
		pr, err = host.OpenPullRequest(ctx, trackers.PullRequest{Head: branch, Base: "main", Title: "Fix #" + run.Ticket,
			Body: "Fixes #" + run.Ticket, TicketID: run.Ticket})
		return err
	})
	if err != nil {
		return err
	}
	if _, err := lease.Update(ctx, runs.Update{PullRequests: map[string]string{"calc": pr.URL}}); err != nil {
		return err
	}
	steps[1].State, steps[2].State = "done", "done"
	_, err = lease.Apply(ctx, runs.EventSucceed, runs.Update{Steps: steps,
		Outcome: &runs.RunOutcome{Summary: "Fixed.", Repos: []runs.RepoResult{{Name: "calc", Result: "pull request " + pr.URL}}}})
	return err
}

// noSandbox is the provisioner of a pipeline that only finalizes.
type noSandbox struct{ sandbox.Provisioner }

// faultWorld is one fault test's universe.
type faultWorld struct {
	t        *testing.T
	redis    *testenv.Redis
	fake     *githubfake.Server
	cfg      *config.Config
	prefix   string
	ledger   ledger
	replicas []*faultReplica
	accepted []string // tickets answered 202
}

// faultReplica is one replica: its own connection to Redis (through a
// proxy that can black-hole it), store, workers, finalizer and webhook
// endpoint; replica 0 also runs the recovery pass and the housekeeper.
type faultReplica struct {
	name    string
	proxy   *testenv.Proxy
	store   *runs.Store
	metrics *prometheus.Registry
	hook    *httptest.Server
}

func newFaultWorld(t *testing.T, redisOpts ...testenv.RedisOption) *faultWorld {
	g := NewWithT(t)
	f := &faultWorld{t: t, redis: testenv.OwnRedis(t, redisOpts...), fake: githubfake.New(githubfake.WithToken(token)), prefix: "fault:"}
	t.Cleanup(f.fake.Close)
	f.fake.AddRepo(repoName, "main")
	script, err := filepath.Abs(filepath.Join("testdata", "fix-bug.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	env := map[string]string{"GH_TOKEN": token, "WEBHOOK_SECRET": webhookSecret}
	f.cfg, err = config.Parse(fmt.Appendf(nil, configYAML, f.fake.URL, script, t.TempDir(), ""), "fault.yml",
		func(k string) (string, bool) { v, ok := env[k]; return v, ok }, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	g.Expect(err).NotTo(HaveOccurred())
	for i := range faultTickets {
		n := f.fake.CreateIssue(repoName, githubfake.NewIssue{Title: "bug " + strconv.Itoa(i), Body: "it breaks", Labels: []string{"calc", "agent-smith"}})
		g.Expect(n).To(Equal(i + 1))
	}
	return f
}

// start starts two replicas whose executors work for work per run.
func (f *faultWorld) start(work time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	var all sync.WaitGroup
	var started [][]func(context.Context) error
	for i := range 2 {
		r, runnables := f.replica(i, work)
		f.replicas = append(f.replicas, r)
		started = append(started, runnables)
	}
	// Registered last, so run first: the replicas stop before their
	// connections close.
	f.t.Cleanup(func() { cancel(); all.Wait() })
	for _, runnables := range started {
		for _, run := range runnables {
			all.Go(func() { _ = run(ctx) })
		}
	}
}

func (f *faultWorld) replica(i int, work time.Duration) (*faultReplica, []func(context.Context) error) {
	g := NewWithT(f.t)
	r := &faultReplica{name: "replica-" + strconv.Itoa(i), metrics: prometheus.NewRegistry()}
	var err error
	r.proxy, err = testenv.StartProxy(f.redis.Addr)
	g.Expect(err).NotTo(HaveOccurred())
	f.t.Cleanup(r.proxy.Close)
	client := redis.NewClient(&redis.Options{Addr: r.proxy.Addr, DialTimeout: faultTTL / 10, ReadTimeout: faultTTL / 10,
		WriteTimeout: faultTTL / 10, MaxRetries: -1})
	f.t.Cleanup(func() { _ = client.Close() })
	r.store, err = runs.NewStore(client, runs.Options{Prefix: f.prefix, HeartbeatTTL: faultTTL, BlockTimeout: 100 * time.Millisecond,
		MaxAttempts: 3, FinalizeLease: 2 * time.Second, FinalizeDeadline: 5 * time.Second})
	g.Expect(err).NotTo(HaveOccurred())
	log := testr.NewWithInterface(f.t, testr.Options{}).WithValues("replica", r.name)

	cfg := f.cfg
	ledgered := func(cfg *config.Config, name string) (trackers.Tracker, error) {
		tr, err := connect.Tracker(cfg, name)
		return ledgerTracker{Tracker: tr, l: &f.ledger}, err
	}
	pipe, err := pipeline.New(pipeline.Deps{Config: func() *config.Config { return cfg }, Tracker: ledgered, RepoHost: connect.RepoHost,
		Store: r.store, Provisioner: noSandbox{}, Skills: skills.NewLoader(nil),
		Models: func(context.Context, *config.Config, string, llm.Slot, string) (*llm.Model, error) {
			return nil, errors.New("the fault suite calls no model")
		}})
	g.Expect(err).NotTo(HaveOccurred())
	workers := worker.NewWorkers(r.store, faultExecutor{f: f, work: work}, runs.Owner{Name: r.name}, 30, log, r.metrics)
	finalizer := worker.NewFinalizer(r.store, pipe, r.name, worker.FinalizerOptions{Backoff: faultTTL / 10, MaxBackoff: faultTTL}, log, nil)
	runnables := []func(context.Context) error{workers.Start, finalizer.Start}

	tr, err := connect.Tracker(cfg, "issues")
	g.Expect(err).NotTo(HaveOccurred())
	h, err := intake.New(cfg, map[string]trackers.Tracker{"issues": tr}, intake.StoreRuns(r.store), log, nil)
	g.Expect(err).NotTo(HaveOccurred())
	r.hook = httptest.NewServer(h)
	f.t.Cleanup(r.hook.Close)
	if i == 0 {
		current := trackers.NewCurrent(&trackers.Snapshot{Config: cfg, Trackers: map[string]trackers.Tracker{"issues": tr}})
		runnables = append(runnables, intake.NewRecovery(current, intake.StoreRuns(r.store), r.store, log).Start,
			worker.NewHousekeeper(r.store, r.name, faultTTL/3, func() time.Duration { return time.Hour }, log).Start)
	}
	return r, runnables
}

// deliver labels every ticket by a signed webhook, alternating replicas,
// as a sender that retries a 503 (Redis too slow to answer in time).
func (f *faultWorld) deliver() {
	g := NewWithT(f.t)
	for n := 1; n <= faultTickets; n++ {
		r := f.replicas[n%2]
		d := f.fake.IssuesEvent(repoName, n, "labeled", "agent-smith", githubfake.User{Login: "alice"})
		g.Eventually(func() (int, error) {
			resp, err := githubfake.Send(context.Background(), r.hook.Client(), r.hook.URL+"/webhooks/github", webhookSecret, d)
			if err != nil {
				return 0, err
			}
			_ = resp.Body.Close()
			return resp.StatusCode, nil
		}).WithTimeout(10 * time.Second).WithPolling(faultTTL / 10).Should(Equal(http.StatusAccepted))
		f.accepted = append(f.accepted, strconv.Itoa(n))
	}
}

// awaitActive waits until at least n runs are in the active states.
func (f *faultWorld) awaitActive(n int) {
	NewWithT(f.t).Eventually(func() (int, error) {
		counts, err := f.replicas[1].store.Count(context.Background())
		return int(counts[runs.StateStarting] + counts[runs.StateProvisioning] + counts[runs.StateRunning] + counts[runs.StatePublishing]), err
	}).WithTimeout(30 * time.Second).WithPolling(20 * time.Millisecond).Should(BeNumerically(">=", n))
}

// awaitDone waits until every accepted ticket shows a finished run (the
// done label, set by the finalizer once the run succeeded) and returns how
// long that took from since.
func (f *faultWorld) awaitDone(since time.Time) time.Duration {
	NewWithT(f.t).Eventually(func() []string {
		var open []string
		for _, id := range f.accepted {
			n, _ := strconv.Atoi(id)
			is, _ := f.fake.Issue(repoName, n)
			if !slices.Contains(is.Labels, trackers.LifecycleDone.Label()) {
				open = append(open, id)
			}
		}
		return open
	}).WithTimeout(90 * time.Second).WithPolling(50 * time.Millisecond).Should(BeEmpty())
	return time.Since(since)
}

// figures are what a fault test counts at its end.
type figures struct {
	lost, twice, stale, dupPRs, dupComments, maxReclaims, reintake int
	executions                                                     map[string]float64
}

func (x figures) String() string {
	return fmt.Sprintf("lost=%d twice=%d stale_writes=%d dup_prs=%d dup_comments=%d max_reclaims=%d reintake=%d executions=%v",
		x.lost, x.twice, x.stale, x.dupPRs, x.dupComments, x.maxReclaims, x.reintake, x.executions)
}

// count computes the figures: lost tickets (no pull request or no single
// run that succeeded), tickets two starts wrote to at overlapping times
// (twice), writes of a start after a newer start's first write (stale),
// duplicate pull requests and duplicate comments (one mark twice).
func (f *faultWorld) count() figures {
	ctx := context.Background()
	x := figures{executions: map[string]float64{}}
	// A finalizer may still be recording the write that set the last
	// done label.
	f.ledger.mu.Lock()
	writes := slices.Clone(f.ledger.writes)
	f.ledger.mu.Unlock()
	prs := map[string]int{}
	for _, pr := range f.fake.PullRequests(repoName) {
		prs[pr.Head]++
	}
	for _, id := range f.accepted {
		n, _ := strconv.Atoi(id)
		if c := prs["agent-smith/"+strconv.Itoa(n)]; c != 1 {
			x.lost += b2i(c == 0)
			x.dupPRs += max(c-1, 0)
		}
		is, _ := f.fake.Issue(repoName, n)
		marks := map[string]int{}
		for _, c := range is.Comments {
			if first, _, _ := strings.Cut(c.Body, "\n"); strings.HasPrefix(first, trackers.MarkPrefix) {
				marks[first]++
			}
		}
		for _, c := range marks {
			x.dupComments += max(c-1, 0)
		}
		x.twice += overlapping(writes, id)
		x.stale += stale(writes, id)
	}
	list, err := f.replicas[0].store.List(ctx, runs.StateSucceeded, 0)
	NewWithT(f.t).Expect(err).NotTo(HaveOccurred())
	succeeded := map[string]int{}
	for _, r := range list {
		succeeded[r.Ticket]++
		x.maxReclaims = max(x.maxReclaims, r.Reclaims)
		x.reintake += b2i(strings.HasPrefix(r.Trigger, "recovered"))
	}
	for _, id := range f.accepted {
		x.lost += b2i(succeeded[id] != 1 && prs["agent-smith/"+id] > 0)
	}
	for _, r := range f.replicas {
		for k, v := range executions(f.t, r.metrics) {
			x.executions[k] += v
		}
	}
	return x
}

// overlapping is 1 when two starts of ticket wrote at overlapping times.
func overlapping(ws []write, ticket string) int {
	spans := map[int64][2]time.Time{}
	for _, w := range ws {
		if w.ticket != ticket || w.fence == 0 {
			continue
		}
		s, ok := spans[w.fence]
		if !ok || w.start.Before(s[0]) {
			s[0] = w.start
		}
		if w.end.After(s[1]) {
			s[1] = w.end
		}
		spans[w.fence] = s
	}
	for a, sa := range spans {
		for b, sb := range spans {
			if a < b && sa[0].Before(sb[1]) && sb[0].Before(sa[1]) {
				return 1
			}
		}
	}
	return 0
}

// stale counts the writes of a start after a newer start's first write.
func stale(ws []write, ticket string) int {
	n := 0
	for _, w := range ws {
		for _, newer := range ws {
			if w.ticket == ticket && newer.ticket == ticket && w.fence != 0 && newer.fence > w.fence && w.start.After(newer.start) {
				n++
				break
			}
		}
	}
	return n
}

// executions reads agentsmith_run_executions_total by outcome.
func executions(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "agentsmith_run_executions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] += m.GetCounter().GetValue()
		}
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// expectClean asserts the targets of the suite: nothing lost, nothing
// executed twice at once, no stale write, no duplicate.
func expectClean(g Gomega, x figures) {
	g.Expect(x.lost).To(BeZero(), "runs lost after a 2xx")
	g.Expect(x.twice).To(BeZero(), "tickets two starts worked on at once")
	g.Expect(x.stale).To(BeZero(), "writes of a start after a newer one's")
	g.Expect(x.dupPRs).To(BeZero(), "duplicate pull requests")
	g.Expect(x.dupComments).To(BeZero(), "duplicate comments")
}

func TestFaultRedisKilledAndRestartedFromAOFLosesNoAcceptedRun(t *testing.T) {
	g := NewWithT(t)
	f := newFaultWorld(t, testenv.WithAOF("everysec"))
	f.start(faultTTL)
	// The AOF's size a second ago: what a node crash leaves of it with
	// everysec (kill -9 alone loses nothing: Redis wrote it before
	// answering).
	sizes := make(chan int64, 1)
	sampled, stopSampling := context.WithCancel(context.Background())
	go sampleAOF(sampled, f.redis, time.Second, sizes)
	f.deliver()
	f.awaitActive(50)
	stopSampling()
	cut := <-sizes

	f.redis.Kill()
	g.Expect(f.redis.TruncateAOF(cut)).To(Succeed())
	g.Expect(f.redis.Start()).To(Succeed())
	back := time.Now()
	recovery := f.awaitDone(back)
	x := f.count()
	t.Logf("figures: fault=kill-9+lost-second runs=%d %s recovery=%s", len(f.accepted), x, recovery.Round(time.Millisecond))
	expectClean(g, x)
}

// sampleAOF keeps the AOF size of lag ago and sends it when ctx ends.
func sampleAOF(ctx context.Context, r *testenv.Redis, lag time.Duration, out chan<- int64) {
	type sample struct {
		at   time.Time
		size int64
	}
	var samples []sample
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if size, err := r.AOFSize(); err == nil {
			samples = append(samples, sample{time.Now(), size})
		}
		select {
		case <-ctx.Done():
			i := max(slices.IndexFunc(samples, func(s sample) bool { return time.Since(s.at) < lag })-1, 0)
			out <- samples[i].size
			return
		case <-tick.C:
		}
	}
}

func TestFaultRedisUnreachableHandsRunsBackWithoutSpendingAttempts(t *testing.T) {
	g := NewWithT(t)
	f := newFaultWorld(t)
	f.start(2 * faultTTL)
	f.deliver()
	f.awaitActive(50)

	g.Expect(f.redis.Pause()).To(Succeed())
	time.Sleep(2 * faultTTL) // the outage itself: 2 TTLs, as 60 s against 30 s
	g.Expect(f.redis.Resume()).To(Succeed())
	back := time.Now()
	recovery := f.awaitDone(back)
	x := f.count()
	t.Logf("figures: fault=unreachable-2TTL runs=%d %s recovery=%s", len(f.accepted), x, recovery.Round(time.Millisecond))
	expectClean(g, x)
	g.Expect(x.executions["handed_back"]).To(BeNumerically(">=", 50), "the owners stopped and handed their runs back")
	g.Expect(x.maxReclaims).To(BeZero(), "an outage spends no attempt: nothing was reclaimed")
}

func TestFaultBlackholedReplicaLosesItsRunsToTheOtherReplica(t *testing.T) {
	g := NewWithT(t)
	f := newFaultWorld(t)
	f.start(2 * faultTTL)
	f.deliver()
	f.awaitActive(50)

	cut := f.replicas[0]
	cut.proxy.Blackhole()
	time.Sleep(2 * faultTTL) // the partition itself: 2 TTLs
	cut.proxy.Restore()
	back := time.Now()
	recovery := f.awaitDone(back)
	x := f.count()
	t.Logf("figures: fault=blackhole-one-replica-2TTL runs=%d %s recovery=%s", len(f.accepted), x, recovery.Round(time.Millisecond))
	expectClean(g, x)
	g.Expect(x.maxReclaims).To(Equal(1), "the cut-off replica's runs were reclaimed once by the other")
	g.Expect(x.executions["lease_lost"]).To(BeNumerically(">", 0), "the cut-off replica found its runs taken")
}
