package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline"
	"github.com/agent-smith/agent-smith/runs/worker"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/azuredevops/adofake"
	"github.com/agent-smith/agent-smith/trackers/connect"
	"github.com/agent-smith/agent-smith/trackers/github/githubfake"
	"github.com/agent-smith/agent-smith/trackers/gitlab/gitlabfake"
	"github.com/agent-smith/agent-smith/trackers/jira/jirafake"
)

// ticketSite is one tracker's fake with a ticket on it: the tracker's
// block and the project's trigger for agentsmith.yml, and the ticket's
// comments as the fake holds them.
type ticketSite struct {
	tracker, trigger, token string
	ticket                  string
	comments                func() []string
}

const siteToken = "comments-test-token-0123456789"

// The sites, one per tracker type; each opens its ticket.
var sites = map[string]func(t *testing.T) ticketSite{
	"github": func(t *testing.T) ticketSite {
		fake := githubfake.New(githubfake.WithToken(siteToken))
		t.Cleanup(fake.Close)
		fake.AddRepo(repoName, "main")
		n := fake.CreateIssue(repoName, githubfake.NewIssue{Title: "add.sh subtracts", Labels: []string{"agent-smith"}})
		return ticketSite{token: siteToken, ticket: strconv.Itoa(n),
			tracker: fmt.Sprintf(`{type: github, url: "%s", project: %s, auth: tok}`, fake.APIURL(), repoName),
			trigger: `github_trigger: {done_status: In Review}`,
			comments: func() []string {
				is, _ := fake.Issue(repoName, n)
				return bodies(is.Comments)
			}}
	},
	"gitlab": func(t *testing.T) ticketSite {
		fake := gitlabfake.New(gitlabfake.WithBotToken(siteToken, "agent-smith-bot"))
		t.Cleanup(fake.Close)
		fake.AddProject(repoName, "main")
		fake.AddMember(repoName, "agent-smith-bot", gitlabfake.AccessMaintainer)
		iid := fake.CreateIssue(repoName, gitlabfake.NewIssue{Title: "add.sh subtracts", Labels: []string{"agent-smith"}})
		return ticketSite{token: siteToken, ticket: strconv.Itoa(iid),
			tracker: fmt.Sprintf(`{type: gitlab, url: "%s", project: %s, auth: tok}`, fake.URL, repoName),
			trigger: `gitlab_trigger: {done_status: In Review}`,
			comments: func() []string {
				is, _ := fake.Issue(repoName, iid)
				var out []string
				for _, n := range is.Notes {
					if !n.System {
						out = append(out, n.Body)
					}
				}
				return out
			}}
	},
	"azure_devops": func(t *testing.T) ticketSite {
		fake := adofake.New(adofake.WithOrganization("acme-org"), adofake.WithToken(siteToken))
		t.Cleanup(fake.Close)
		fake.AddProject("Platform")
		id := fake.CreateWorkItem(adofake.NewWorkItem{Project: "Platform", Title: "add.sh subtracts", State: "Active", Tags: []string{"agent-smith"}})
		return ticketSite{token: siteToken, ticket: strconv.Itoa(id),
			tracker: fmt.Sprintf(`{type: azure_devops, url: "%s", organization: acme-org, project: Platform, auth: tok}`, fake.OrgURL()),
			trigger: `azuredevops_trigger: {project_resolution: {strategy: area_path, value: Platform}, done_status: Resolved}`,
			comments: func() []string {
				wi, _ := fake.WorkItem(id)
				var out []string
				for _, c := range wi.Comments {
					if !c.Deleted {
						out = append(out, c.Text)
					}
				}
				return out
			}}
	},
	"jira": func(t *testing.T) ticketSite {
		fake := jirafake.New(jirafake.WithUser("agent-smith@acme.example", siteToken, jirafake.User{AccountID: "557058:agent-smith", DisplayName: "Agent Smith"}))
		t.Cleanup(fake.Close)
		fake.AddProject("SHOP", "Shop")
		key := fake.CreateIssue("SHOP", jirafake.NewIssue{Summary: "add.sh subtracts", Labels: []string{"calc", "agent-smith"}})
		return ticketSite{token: siteToken, ticket: key,
			tracker: fmt.Sprintf(`{type: jira, url: "%s", project: SHOP, auth: tok, email: agent-smith@acme.example}`, fake.URL),
			trigger: `jira_trigger: {project_resolution: {strategy: tag, value: calc}, done_status: In Review}`,
			comments: func() []string {
				is, _ := fake.Issue(key)
				var out []string
				for _, c := range is.Comments {
					out = append(out, c.Body)
				}
				return out
			}}
	},
}

// commentsYAML is a project on the site's tracker; %[1]s is the tracker
// block, %[2]s the trigger, %[3]s the scripted agent's script (never
// called), %[4]s the token.
const commentsYAML = `
agents:
  replay: {type: scripted, script: %[3]s}
repos:
  calc: {type: github, url: "https://github.example/acme/calc", auth: tok}
trackers:
  issues: %[1]s
projects:
  calc:
    agent: replay
    tracker: issues
    repos: [calc]
    %[2]s
skills: {source: default, version: v3.0.1}
secrets: {tok: %[4]s}
`

// ending is how a commentingRun ends once its status comment is open.
type ending func(ctx context.Context, lease *runs.Lease, n string) error

// commentingRun is a run as its ticket sees it, without sandbox or model:
// the ticket step opens the status comment (the pipeline's own code) and
// marks the ticket in progress, a step's progress edits it, then the run
// ends as end says; the real finalizer tells the ticket.
type commentingRun struct {
	cfg *config.Config
	end ending
}

var workingSteps = []runs.StepRecord{{Name: "ticket", State: "done", TookMS: 300}, {Name: "plan", State: "done", TookMS: 900},
	{Name: "test", State: "running"}, {Name: "pull-requests", State: "pending"}}

func (e commentingRun) Execute(ctx context.Context, lease *runs.Lease) error {
	tr, status, err := startWork(ctx, e.cfg, lease, workingSteps)
	if err != nil {
		return err
	}
	// The progress of a step edits the comment; it adds none.
	run := lease.Run()
	run.StatusCommentID = status
	t, err := tr.Ticket(ctx, run.Ticket)
	if err != nil {
		return err
	}
	if _, err := pipeline.EnsureStatusComment(ctx, tr, t, run, "ticket", "plan", "test", "pull-requests"); err != nil {
		return err
	}
	return e.end(ctx, lease, run.Ticket)
}

func succeed(ctx context.Context, lease *runs.Lease, n string) error {
	if _, err := lease.Apply(ctx, runs.EventPublish, runs.Update{}); err != nil {
		return err
	}
	steps := slices.Clone(workingSteps)
	steps[2] = runs.StepRecord{Name: "test", State: "done", TookMS: 2100, Notes: []string{"calc: `sh test.sh` passed"}}
	steps[3] = runs.StepRecord{Name: "pull-requests", State: "done", TookMS: 400}
	done := lease.Run().DoneStatus
	_, err := lease.Apply(ctx, runs.EventSucceed, runs.Update{Steps: steps, AddUsage: runs.Usage{InputTokens: 12000, OutputTokens: 900, CostUSD: 0.031},
		Outcome: &runs.RunOutcome{Summary: "add.sh subtracted; it adds now.", DoneStatus: done,
			Repos: []runs.RepoResult{{Name: "calc", Result: "[pull request #" + n + "](https://github.example/acme/calc/pull/" + n + ")"}}}})
	return err
}

func failAtTest(ctx context.Context, lease *runs.Lease, n string) error {
	reason := "tests still fail after one fix: FAIL: add 2 3 gave 6"
	steps := slices.Clone(workingSteps)
	steps[2] = runs.StepRecord{Name: "test", State: "failed", TookMS: 3200, Notes: []string{reason}}
	_, err := lease.Apply(ctx, runs.EventFail, runs.Update{Step: "test", Error: "step test: " + reason, Steps: steps,
		AddUsage: runs.Usage{InputTokens: 9000, OutputTokens: 700, CostUSD: 0.024},
		Outcome:  &runs.RunOutcome{Step: "test", Reason: reason, WIP: []string{"`agent-smith/" + n + "-wip` in calc"}}})
	return err
}

// commentsWorld runs one run on a site: workers with a commentingRun,
// the pipeline's finalizer, a store on the package's redis-server.
type commentsWorld struct {
	t     *testing.T
	site  ticketSite
	cfg   *config.Config
	store *runs.Store
}

var commentWorlds int

func newCommentsWorld(t *testing.T, kind string, end ending) *commentsWorld {
	g := NewWithT(t)
	site := sites[kind](t)
	script, err := filepath.Abs(filepath.Join("testdata", "fix-bug.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := config.Parse(fmt.Appendf(nil, commentsYAML, site.tracker, site.trigger, script, site.token), kind+".yml",
		func(string) (string, bool) { return "", false }, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	g.Expect(err).NotTo(HaveOccurred())
	commentWorlds++
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: fmt.Sprintf("comments%d:", commentWorlds), HeartbeatTTL: 2 * time.Second, BlockTimeout: 100 * time.Millisecond})
	g.Expect(err).NotTo(HaveOccurred())
	pipe, err := pipeline.New(pipeline.Deps{Config: func() *config.Config { return cfg }, Tracker: connect.Tracker, RepoHost: connect.RepoHost,
		Store: store, Provisioner: noSandbox{}, Skills: skills.NewLoader(nil),
		Models: func(context.Context, *config.Config, string, llm.Slot, string) (*llm.Model, error) {
			return nil, errors.New("no model")
		}})
	g.Expect(err).NotTo(HaveOccurred())
	log := testr.NewWithInterface(t, testr.Options{})
	workers := worker.NewWorkers(store, commentingRun{cfg: cfg, end: end}, runs.Owner{Name: "replica-a"}, 1, log, nil)
	fin := worker.NewFinalizer(store, pipe, "replica-a", worker.FinalizerOptions{Backoff: 100 * time.Millisecond}, log, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Go(func() { _ = workers.Start(ctx) })
	done.Go(func() { _ = fin.Start(ctx) })
	t.Cleanup(func() { cancel(); done.Wait() })
	return &commentsWorld{t: t, site: site, cfg: cfg, store: store}
}

// submit queues a run of the site's ticket.
func (w *commentsWorld) submit() string {
	res, err := w.store.Submit(context.Background(), runs.Submission{Project: "calc", Pipeline: "fix-bug", Tracker: "issues",
		Ticket: w.site.ticket, Repos: []string{"calc"}, Trigger: "label agent-smith added", DoneStatus: w.cfg.Projects["calc"].Trigger().DoneStatus})
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	return res.RunID
}

// await waits until run id ended in want and its ticket was told.
func (w *commentsWorld) await(id string, want runs.State) runs.Run {
	g := NewWithT(w.t)
	var run runs.Run
	g.Eventually(func() (runs.FinalizeState, error) {
		var err error
		run, err = w.store.Get(context.Background(), id)
		return run.Finalize, err
	}).WithTimeout(time.Minute).WithPolling(20*time.Millisecond).Should(Equal(runs.FinalizeDone), func() string { return run.Error })
	g.Expect(run.State).To(Equal(want), run.Error)
	return run
}

// ticket is the ticket as agent-smith reads it back.
func (w *commentsWorld) ticket() trackers.Ticket {
	tr, err := connect.Tracker(w.cfg, "issues")
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	tk, err := tr.Ticket(context.Background(), w.site.ticket)
	NewWithT(w.t).Expect(err).NotTo(HaveOccurred())
	return tk
}

// expectNoRepeats checks a ticket's comments, as a person reads them, for
// what a run must not do: two comments with one heading, or a line (the
// pull-request table's, a reason, the usage) told twice.
func expectNoRepeats(g Gomega, comments []string) {
	seen := map[string]int{}
	for i, body := range comments {
		for _, line := range strings.Split(body, "\n") {
			line = strings.Trim(line, " \t#>*_")
			if len(line) < 12 || strings.HasPrefix(line, trackers.MarkPrefix) || strings.Trim(line, "|-: ") == "" {
				continue
			}
			if j, ok := seen[line]; ok && j != i {
				g.Expect(line).To(BeEmpty(), "comments %d and %d both say it:\n%s\n----\n%s", j, i, comments[j], body)
			}
			seen[line] = i
		}
	}
}

// TestARunLeavesOneStatusCommentAndNoRepeat runs a successful and a failed
// run on each tracker's fake and counts what their tickets got: the status
// comment, edited to the end, and one notice of the end that says only
// what the status comment does not.
func TestARunLeavesOneStatusCommentAndNoRepeat(t *testing.T) {
	for _, kind := range slices.Sorted(maps.Keys(sites)) {
		for _, tc := range []struct {
			name          string
			end           ending
			state         runs.State
			status, final []string
		}{
			{"succeeded", succeed, runs.StateSucceeded,
				[]string{"agent-smith finished", "pull request #", "sh test.sh", "Model usage"}, []string{"add.sh subtracted; it adds now."}},
			{"failed", failAtTest, runs.StateFailed,
				[]string{"failed at step", "FAIL: add 2 3 gave 6", "-wip"}, []string{"could not finish", "label the ticket again"}},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				g := NewWithT(t)
				w := newCommentsWorld(t, kind, tc.end)
				run := w.await(w.submit(), tc.state)

				g.Expect(w.site.comments()).To(HaveLen(2), "the fake holds the status comment and the notice of the end")
				tk := w.ticket()
				var own []string
				for _, c := range tk.Comments {
					g.Expect(c.Own).To(BeTrue(), "a comment of the run is agent-smith's own: %q", c.Body)
					own = append(own, c.Body)
				}
				g.Expect(own).To(HaveLen(2))
				g.Expect(tk.Comments[0].ID).To(Equal(run.StatusCommentID), "the status comment opened by the ticket step is the one edited to the end")
				status, final := own[0], own[1]
				for _, s := range tc.status {
					g.Expect(status).To(ContainSubstring(s))
				}
				g.Expect(status).NotTo(ContainSubstring("is working on this"))
				for _, s := range tc.final {
					g.Expect(final).To(ContainSubstring(s))
				}
				g.Expect(final).NotTo(Or(ContainSubstring("pull request #"), ContainSubstring("Model usage"), ContainSubstring("FAIL: add")),
					"the notice leaves to the status comment what it shows")
				expectNoRepeats(g, own)
				for _, body := range own {
					g.Expect(body).NotTo(ContainSubstring(siteToken))
				}
			})
		}
	}
}

// A run cancelled while it works: the status comment says so and why,
// the notice only that it stopped and how to start over.
func TestACancelledRunLeavesOneStatusCommentAndNoRepeat(t *testing.T) {
	g := NewWithT(t)
	stop := make(chan struct{})
	w := newCommentsWorld(t, "github", func(ctx context.Context, lease *runs.Lease, _ string) error {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		return nil
	})
	id := w.submit()
	g.Eventually(func() (string, error) {
		r, err := w.store.Get(context.Background(), id)
		return r.StatusCommentID, err
	}).WithTimeout(time.Minute).WithPolling(20 * time.Millisecond).ShouldNot(BeEmpty())
	_, err := w.store.Apply(context.Background(), id, runs.EventCancel, runs.Update{Error: "cancelled by alice"})
	g.Expect(err).NotTo(HaveOccurred())
	close(stop)
	w.await(id, runs.StateCancelled)
	own := w.site.comments()
	g.Expect(own).To(HaveLen(2))
	g.Expect(own[0]).To(And(ContainSubstring("was cancelled"), ContainSubstring("cancelled by alice")))
	g.Expect(own[1]).To(And(ContainSubstring("start over"), Not(ContainSubstring("cancelled by alice"))))
	expectNoRepeats(g, own)
}
