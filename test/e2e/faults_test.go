package e2e

// Fault tests of intake (issue 15, faults 4 and 5 of its design): two
// `agent-smith serve` replicas with local sandboxes on the flow's
// redis-server, the GitHub fake over real HTTP with real signatures, and
// runs that go the whole way through the pipeline (a plan with nothing to
// change, so each run is cheap: ticket, sandbox, checkout, context, plan,
// finalize). They count what the product did and print the figures.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/trackers/github"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
)

// faultServeConfig is the replicas' agentsmith.yml: the calc project on
// the GitHub fake, taking its repository's issues (no trigger block: the
// default for a project of the tracker's one repository). %[1]s is the
// fake's root, %[2]s the model script, %[3]s the runs directory, %[4]s the
// Redis key prefix, %[5]t whether the tracker is polled (every second),
// %[6]d limits.max_runs_per_ticket_per_day.
const faultServeConfig = `
agents:
  replay: {type: scripted, script: %[2]s}
repos:
  calc: {type: github, url: "%[1]s/acme/calc", auth: gh}
trackers:
  issues:
    type: github
    url: "%[1]s/api/v3"
    project: acme/calc
    auth: gh
    webhook_secret: ${E2E_WEBHOOK_SECRET}
    polling: {enabled: %[5]t, interval_seconds: 1, jitter_percent: 0}
projects:
  calc: {agent: replay, tracker: issues, repos: [calc]}
orchestrator: {runs_dir: %[3]s}
queue: {redis_prefix: "%[4]s", shutdown_grace_seconds: 1, max_parallel_jobs: 6}
limits: {max_runs_per_ticket_per_day: %[6]d}
skills: {source: default, version: v3.0.1}
secrets: {gh: "${GH_TOKEN}"}
`

// nothingToChange is a model script whose plan has no steps: the run
// goes from the plan straight to finalizing the ticket.
const nothingToChange = `- slot: planning
  text: '{"summary": "Nothing to change: add.sh is as the ticket asks.", "steps": [], "questions": []}'
`

// faultTickets is how many tickets each fault test works (N >= 50).
const faultTickets = 50

// faultWorld is the calc project served by two local replicas.
type faultWorld struct {
	*localWorld
	calc     *gitHubCalc
	replicas []*replica
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	script := filepath.Join(t.TempDir(), "nothing-to-change.yaml")
	if err := os.WriteFile(script, []byte(nothingToChange), 0o644); err != nil {
		t.Fatal(err)
	}
	calc := newGitHubCalc(t, script)
	w := &faultWorld{localWorld: newLocalWorld(t), calc: calc}
	calc.bind(w.flowWorld)
	return w
}

// start starts the two replicas.
func (w *faultWorld) start(polled bool, perDay int) {
	w.t.Helper()
	config := w.writeConfig(fmt.Appendf(nil, faultServeConfig, w.calc.fake.URL, w.calc.script, w.calc.runsDir, w.prefix, polled, perDay))
	for _, name := range []string{"replica-a", "replica-b"} {
		w.replicas = append(w.replicas, w.startReplica(name, config))
	}
	// Both drain at once; each replica's own cleanup then waits for it.
	w.t.Cleanup(func() {
		for _, r := range w.replicas {
			r.terminate()
		}
	})
}

// openIssues opens n issues labelled agent-smith and returns their numbers.
func (w *faultWorld) openIssues(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = w.calc.fake.CreateIssue(e2eGitHubRepo, githubfake.NewIssue{
			Title: fmt.Sprintf("Ticket %d", i), Body: "add.sh must keep adding.", Labels: []string{"agent-smith"},
		})
	}
	return out
}

// runsByTicket are the flow's runs, in every state, by ticket.
func (w *faultWorld) runsByTicket(g Gomega) map[string][]runs.Run {
	out := map[string][]runs.Run{}
	for _, st := range runs.States {
		list, err := w.store.List(context.Background(), st, 0)
		g.Expect(err).NotTo(HaveOccurred())
		for _, r := range list {
			out[r.Ticket] = append(out[r.Ticket], r)
		}
	}
	return out
}

// awaitRunsOver waits until the tickets have want runs in all and every
// one is over and its ticket told; it returns them by ticket.
func (w *faultWorld) awaitRunsOver(want int) map[string][]runs.Run {
	w.t.Helper()
	var byTicket map[string][]runs.Run
	NewWithT(w.t).Eventually(func(g Gomega) {
		byTicket = w.runsByTicket(g)
		total := 0
		for _, rs := range byTicket {
			for _, r := range rs {
				total++
				g.Expect(r.State.Active()).To(BeFalse(), "run %s of ticket %s is %s", r.ID, r.Ticket, r.State)
				// Over means told: the ticket's claim goes with the finalizer.
				g.Expect(r.Finalize).To(BeElementOf(runs.FinalizeDone, runs.FinalizeGaveUp), "run %s of ticket %s is told", r.ID, r.Ticket)
			}
		}
		g.Expect(total).To(Equal(want))
	}).WithTimeout(4 * time.Minute).WithPolling(250 * time.Millisecond).Should(Succeed())
	for _, rs := range byTicket {
		for _, r := range rs {
			NewWithT(w.t).Expect(r.State).To(Equal(runs.StateSucceeded), "run %s: %s", r.ID, r.Error)
		}
	}
	return byTicket
}

// answered is a replica's answer to a delivery.
type answered struct {
	Status  int
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// send posts d, signed with the webhook secret, to the replica.
func (w *faultWorld) send(to *replica, d githubfake.Delivery) (answered, error) {
	resp, err := githubfake.Send(context.Background(), http.DefaultClient, to.url+"/webhooks/github", e2eGitHubSecret, d)
	if err != nil {
		return answered{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	a := answered{Status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return answered{}, fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	return a, nil
}

// webhookSeries reads agentsmith_webhook_deliveries_total from the
// replica's admin listener: its series, and the values of its event label.
func webhookSeries(g Gomega, r *replica) (series int, events []string) {
	resp, err := http.Get(r.adminURL + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	f := families["agentsmith_webhook_deliveries_total"]
	g.Expect(f).NotTo(BeNil())
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "event" && !slices.Contains(events, l.GetValue()) {
				events = append(events, l.GetValue())
			}
		}
	}
	slices.Sort(events)
	return len(f.GetMetric()), events
}

// replay sends each body perBody times with fresh delivery ids, every
// fifth of them under a random event name, across both replicas from 8
// senders at once; it counts the answers by status and outcome.
func (w *faultWorld) replay(bodies []githubfake.Delivery, perBody int) map[string]int {
	w.t.Helper()
	var jobs []githubfake.Delivery
	for _, d := range bodies {
		for k := range perBody {
			event := d.Event
			if k%5 == 4 {
				event = fmt.Sprintf("%s-%x", []string{"push", "issues", "x"}[rand.IntN(3)], rand.Uint64())
			}
			jobs = append(jobs, githubfake.Delivery{Event: event, ID: githubfake.NewDeliveryID(), Body: d.Body})
		}
	}
	counts := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				a, err := w.send(w.replicas[i%2], jobs[i])
				mu.Lock()
				if err != nil {
					counts["error: "+err.Error()]++
				} else {
					counts[strconv.Itoa(a.Status)+" "+a.Outcome]++
				}
				mu.Unlock()
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return counts
}

// TestFaultReplayedSignedDeliveriesQueueOneRunEach: one signed
// issues.labeled delivery per ticket, then 1,000 replays of those bodies
// (20 each, half while the runs are in flight, half after they ended)
// with fresh delivery ids across both replicas, 200 of them under random
// event names. Each ticket gets one run; every replay is answered 200; the
// metrics grow no series per random name; and once the deliveries are
// forgotten (as 72 hours later) a replay is not_new.
func TestFaultReplayedSignedDeliveriesQueueOneRunEach(t *testing.T) {
	g := NewWithT(t)
	w := newFaultWorld(t)
	w.start(false, 5)
	began := time.Now()
	issues := w.openIssues(faultTickets)
	deliveries := make([]githubfake.Delivery, len(issues))
	for i, n := range issues {
		deliveries[i] = w.calc.fake.IssuesEvent(e2eGitHubRepo, n, "labeled", "agent-smith", githubfake.User{Login: "alice"})
		a, err := w.send(w.replicas[i%2], deliveries[i])
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(a.Status).To(Equal(http.StatusAccepted), "ticket %d: %+v", n, a)
	}
	inFlight := w.replay(deliveries, 10)
	byTicket := w.awaitRunsOver(faultTickets)
	after := w.replay(deliveries, 10)

	twice := 0
	for _, n := range issues {
		if len(byTicket[strconv.Itoa(n)]) != 1 {
			twice++
		}
	}
	g.Expect(twice).To(BeZero(), "tickets with other than one run")
	for _, counts := range []map[string]int{inFlight, after} {
		g.Expect(counts).To(Equal(map[string]int{"200 ignored": faultTickets * 10}), "every replay is answered 200, none queues")
	}

	known := append(new(github.Tracker).KnownEvents(), "other", "unverified")
	seriesTotal := 0
	var seen []string
	for _, r := range w.replicas {
		series, events := webhookSeries(g, r)
		g.Expect(known).To(ContainElements(events), "replica %s", r.owner.Name)
		seriesTotal += series
		seen = append(seen, events...)
	}
	slices.Sort(seen)
	seen = slices.Compact(seen)
	g.Expect(seriesTotal).To(BeNumerically("<=", 2*4), "200 random event names made no series of their own")

	// 72 hours later the delivery ids and bodies are forgotten; the
	// tickets' records still know the triggers.
	// SCAN, not KEYS: the shipped ACL refuses @dangerous commands.
	var keys []string
	iter := w.rdb.Scan(context.Background(), 0, w.prefix+"delivery:*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	g.Expect(iter.Err()).NotTo(HaveOccurred())
	g.Expect(keys).To(HaveLen(2 * faultTickets))
	g.Expect(w.rdb.Del(context.Background(), keys...).Err()).To(Succeed())
	notNew := 0
	for i, d := range deliveries {
		a, err := w.send(w.replicas[i%2], githubfake.Delivery{Event: d.Event, ID: githubfake.NewDeliveryID(), Body: d.Body})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(a).To(And(HaveField("Status", http.StatusOK), HaveField("Outcome", "not_new")), "ticket %d", issues[i])
		notNew++
	}
	byTicket = w.runsByTicket(g)
	runsTotal := 0
	for _, rs := range byTicket {
		runsTotal += len(rs)
	}
	g.Expect(runsTotal).To(Equal(faultTickets))
	t.Logf("fault 4: tickets=%d runs=%d tickets-run-twice=%d replays=1000 (in flight %v, after %v) not_new-after-72h=%d event-labels=%v series=%d took=%s",
		faultTickets, runsTotal, twice, inFlight, after, notNew, seen, seriesTotal, time.Since(began).Round(time.Millisecond))
	w.expectNothingLeft()
}

// TestFaultTrackerWhoseLabelWritesFailIsPolledWithoutRequeueing: the
// token may not write labels (every label write answers 403), so the
// tickets keep no lifecycle label and the poller lists every one of them
// at every poll. Over the 10 poll intervals after the first runs ended
// (each replica polls every second), each ticket gets no second run but
// one edited meanwhile, which gets one more; with a cap of 2 runs a day,
// its next edit gets none.
func TestFaultTrackerWhoseLabelWritesFailIsPolledWithoutRequeueing(t *testing.T) {
	g := NewWithT(t)
	w := newFaultWorld(t)
	fake := w.calc.fake
	fake.FailRequests(http.MethodPost, "/repos/"+e2eGitHubRepo+"/issues/*/labels", http.StatusForbidden)
	fake.FailRequests(http.MethodDelete, "/repos/"+e2eGitHubRepo+"/issues/*/labels/*", http.StatusForbidden)
	issues := w.openIssues(faultTickets)
	began := time.Now()
	w.start(true, 2)

	w.awaitRunsOver(faultTickets)
	firstRound := time.Since(began)
	polls0 := w.polls(g)

	// While the 10 intervals go by: an edit is a change, so one more run;
	// a further edit, beyond the cap of 2 runs a day, gets none and says
	// so.
	edited := issues[0]
	fake.EditBody(e2eGitHubRepo, edited, "add.sh must keep adding, also negative numbers.")
	w.awaitRunsOver(faultTickets + 1)
	fake.EditBody(e2eGitHubRepo, edited, "add.sh must keep adding, also negative numbers and zero.")
	g.Eventually(func() string { return w.logs.String() }).WithTimeout(time.Minute).
		Should(ContainSubstring("ticket " + strconv.Itoa(edited) + " started 2 runs within a day (limits.max_runs_per_ticket_per_day is 2)"))
	polls1 := w.polls(g)
	g.Eventually(func(g Gomega) int { return w.polls(g) }).WithTimeout(time.Minute).WithPolling(200*time.Millisecond).
		Should(BeNumerically(">=", max(polls0+2*10, polls1+2*2)), "10 intervals after the first round, 2 after the cap, on each replica")

	byTicket := w.runsByTicket(g)
	requeued, runsTotal := 0, 0
	for _, n := range issues {
		allowed := 1
		if n == edited {
			allowed = 2
		}
		got := len(byTicket[strconv.Itoa(n)])
		runsTotal += got
		requeued += max(0, got-allowed)
		g.Expect(got).To(Equal(allowed), "runs of #%d", n)
		g.Expect(w.calc.issueState(n).Labels).To(Equal([]string{"agent-smith"}), "no lifecycle label could be written on #%d", n)
	}
	g.Expect(requeued).To(BeZero(), "runs beyond what the per-ticket rules allow")
	g.Expect(runsTotal).To(Equal(faultTickets + 1))

	// Each replica says once per ticket why it queues nothing (more only
	// when the reason changes: the edited ticket's cap).
	notices := w.noticesPerTicket()
	for who, perTicket := range notices {
		for ticket, n := range perTicket {
			want := 1
			if ticket == strconv.Itoa(edited) {
				// Its first run's trigger, its second's, then the cap.
				want = 3
			}
			g.Expect(n).To(BeNumerically("<=", want), "%s logged ticket %s %d times", who, ticket, n)
		}
	}
	t.Logf("fault 5: tickets=%d polls=%d (after first round %d) runs=%d requeued-beyond-rules=%d edited-ticket-runs=%d capped=true info-notices=%v first-round=%s took=%s",
		faultTickets, w.polls(g), w.polls(g)-polls0, runsTotal, requeued, len(byTicket[strconv.Itoa(edited)]), noticeTotals(notices),
		firstRound.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	w.expectNothingLeft()
}

// polls is the sum of agentsmith_polls_total{outcome="ok"} over the
// replicas.
func (w *faultWorld) polls(g Gomega) int {
	total := 0
	for _, r := range w.replicas {
		resp, err := http.Get(r.adminURL + "/metrics")
		g.Expect(err).NotTo(HaveOccurred())
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		_ = resp.Body.Close()
		g.Expect(err).NotTo(HaveOccurred())
		for _, m := range families["agentsmith_polls_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "ok" {
					total += int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return total
}

var noticedTicket = regexp.MustCompile(`"ticket": "(\d+)"`)

// noticesPerTicket counts, per replica and ticket, the info lines saying
// why a polled ticket gets no run.
func (w *faultWorld) noticesPerTicket() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, line := range strings.Split(w.logs.String(), "\n") {
		if !strings.Contains(line, "a polled ticket gets no new run") {
			continue
		}
		fields := strings.Fields(line)
		m := noticedTicket.FindStringSubmatch(line)
		if len(fields) < 2 || m == nil {
			continue
		}
		if out[fields[1]] == nil {
			out[fields[1]] = map[string]int{}
		}
		out[fields[1]][m[1]]++
	}
	return out
}

func noticeTotals(n map[string]map[string]int) map[string]int {
	out := map[string]int{}
	for who, perTicket := range n {
		for _, c := range perTicket {
			out[who] += c
		}
	}
	return out
}
