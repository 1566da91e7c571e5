package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/console"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/runs"
)

const (
	cliAdminToken = "ops-admin-token-0123456789"
	cliReadToken  = "ops-read-token-0123456789"
)

// runsWorld is a run store in a real Redis behind a console over HTTP, and
// the environment that points the runs commands at it.
func runsWorld(t *testing.T, prefix string) (*runs.Store, map[string]string) {
	t.Helper()
	store, err := runs.NewStore(testenv.SharedRedis(t).Client(t), runs.Options{Prefix: prefix, BlockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := console.ParseTokens("ops:admin:" + cliAdminToken + ",viewer:read:" + cliReadToken)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(console.New(store, tokens, logr.Discard()).Handler())
	t.Cleanup(srv.Close)
	return store, map[string]string{"AGENTSMITH_SERVER": srv.URL, "AGENTSMITH_TOKEN": cliReadToken}
}

func submitRun(t *testing.T, store *runs.Store, ticket string) string {
	t.Helper()
	res, err := store.Submit(context.Background(), runs.Submission{Project: "calc", Pipeline: "fix-bug",
		Tracker: "issues", Ticket: ticket, TicketTitle: "add.sh subtracts", Repos: []string{"calc"}})
	if err != nil {
		t.Fatal(err)
	}
	return res.RunID
}

func TestRunsListGetAndLogsReadTheAPI(t *testing.T) {
	g := NewWithT(t)
	store, env := runsWorld(t, "cli-read:")
	older := submitRun(t, store, "1")
	newer := submitRun(t, store, "2")
	ctx := context.Background()
	g.Expect(store.AppendProgress(ctx, newer, "plan", "planning the change")).To(Succeed())
	_, err := store.Update(ctx, newer, runs.Update{Plan: "1. Make add.sh add"})
	g.Expect(err).NotTo(HaveOccurred())

	stdout, stderr, err := runCLI(t, env, "runs", "list")
	g.Expect(err).NotTo(HaveOccurred(), stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	g.Expect(lines).To(HaveLen(3))
	g.Expect(lines[0]).To(MatchRegexp(`^RUN\s+STATE\s+PROJECT\s+TICKET\s+AGE\s+COST\s+TITLE$`))
	g.Expect(lines[1]).To(MatchRegexp(`^` + newer + `\s+queued\s+calc\s+2\s+\d+s\s+\$0\.0000\s+add\.sh subtracts$`))
	g.Expect(lines[2]).To(HavePrefix(older))

	stdout, _, err = runCLI(t, env, "runs", "list", "--ticket", "1", "-o", "json")
	g.Expect(err).NotTo(HaveOccurred())
	var list []runs.Run
	g.Expect(json.Unmarshal([]byte(stdout), &list)).To(Succeed())
	g.Expect(list).To(HaveExactElements(HaveField("ID", older)))

	stdout, _, err = runCLI(t, env, "runs", "get", newer)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stdout).To(And(MatchRegexp(`State\s+queued \(attempt 1\)`), ContainSubstring("Plan:\n  1. Make add.sh add")))

	stdout, _, err = runCLI(t, env, "runs", "logs", newer)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stdout).To(MatchRegexp(`(?m)^\d\d:\d\d:\d\d  run queued \(submit, attempt 1\)\n\d\d:\d\d:\d\d  \[plan\] planning the change\n$`))
}

func TestRunsLogsFollowExitsWithTheRunsOutcome(t *testing.T) {
	for _, tc := range []struct {
		name   string
		end    func(*runs.Store, runs.Run) error
		status int
		last   string
	}{
		{"succeeded", func(s *runs.Store, r runs.Run) error {
			for _, ev := range []runs.Event{runs.EventReady, runs.EventPublish, runs.EventSucceed} {
				if _, err := s.Apply(context.Background(), r.ID, ev, runs.Update{Fence: r.Fence}); err != nil {
					return err
				}
			}
			return nil
		}, 0, "run succeeded (succeed, attempt 1)"},
		{"failed", func(s *runs.Store, r runs.Run) error {
			_, err := s.Apply(context.Background(), r.ID, runs.EventFail, runs.Update{Fence: r.Fence, Error: "tests still fail"})
			return err
		}, 1, "run failed (fail, attempt 1): tests still fail"},
		{"cancelled", func(s *runs.Store, r runs.Run) error {
			_, err := s.Cancel(context.Background(), r.ID, "ops", "wrong ticket")
			return err
		}, exitCancelled, "run cancelled (cancel, attempt 1) by ops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			store, env := runsWorld(t, "cli-follow-"+tc.name+":")
			submitRun(t, store, "7")
			lease, err := store.Dequeue(context.Background(), runs.Owner{Name: "replica-a"})
			g.Expect(err).NotTo(HaveOccurred())
			run := lease.Run()

			var out syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- Main(context.Background(), []string{"runs", "logs", "-f", run.ID}, envFrom(env), &out, &out)
			}()
			g.Eventually(out.String).Should(ContainSubstring("run starting (start, attempt 1)"))
			g.Expect(store.AppendProgress(context.Background(), run.ID, "execute", "tests pass")).To(Succeed())
			g.Eventually(out.String).Should(ContainSubstring("[execute] tests pass"), "followed live")
			g.Expect(tc.end(store, run)).To(Succeed())
			var err2 error
			g.Eventually(done).WithTimeout(10 * time.Second).Should(Receive(&err2))
			g.Expect(exitCode(err2)).To(Equal(tc.status), out.String())
			g.Expect(out.String()).To(ContainSubstring(tc.last))
		})
	}
}

func TestRunsCancelAndRetryNeedAnAdminToken(t *testing.T) {
	g := NewWithT(t)
	store, env := runsWorld(t, "cli-steer:")
	id := submitRun(t, store, "3")

	_, stderr, err := runCLI(t, env, "runs", "cancel", id)
	g.Expect(exitCode(err)).To(Equal(exitAPI))
	g.Expect(stderr).To(ContainSubstring(`token "viewer" is read-only`))

	env["AGENTSMITH_TOKEN"] = cliAdminToken
	stdout, stderr, err := runCLI(t, env, "runs", "cancel", id, "--reason", "duplicate of 2")
	g.Expect(err).NotTo(HaveOccurred(), stderr)
	g.Expect(stdout).To(Equal("run " + id + " is cancelled (attempt 1)\n"))
	r, err := store.Get(context.Background(), id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(r.Cancel).To(And(HaveField("By", "ops"), HaveField("Reason", "duplicate of 2")))

	_, stderr, err = runCLI(t, env, "runs", "retry", id)
	g.Expect(exitCode(err)).To(Equal(exitAPI))
	g.Expect(stderr).To(ContainSubstring("cannot be retried yet: its ticket is still being told"))
	finalize(t, store, id)
	stdout, _, err = runCLI(t, env, "runs", "retry", id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stdout).To(Equal("run " + id + " is queued (attempt 2)\n"))
	_, stderr, err = runCLI(t, env, "runs", "retry", id)
	g.Expect(exitCode(err)).To(Equal(exitAPI))
	g.Expect(stderr).To(ContainSubstring("is queued: only a failed or cancelled run can be retried"))
}

func TestRunsCommandsSayWhatIsWrong(t *testing.T) {
	g := NewWithT(t)
	_, env := runsWorld(t, "cli-wrong:")
	_, stderr, err := runCLI(t, env, "runs", "get")
	g.Expect(exitCode(err)).To(Equal(2))
	g.Expect(stderr).To(ContainSubstring("which run?"))
	_, stderr, err = runCLI(t, env, "runs", "get", "20260101-000000-none", "extra")
	g.Expect(exitCode(err)).To(Equal(2))
	g.Expect(stderr).To(ContainSubstring(`unexpected argument "extra"`))
	_, stderr, err = runCLI(t, env, "runs", "list", "-o", "yaml")
	g.Expect(exitCode(err)).To(Equal(2))
	g.Expect(stderr).To(ContainSubstring(`--output "yaml": want table or json`))

	_, stderr, err = runCLI(t, env, "runs", "get", "20260101-000000-none")
	g.Expect(exitCode(err)).To(Equal(exitAPI))
	g.Expect(stderr).To(ContainSubstring("no run 20260101-000000-none"))
	delete(env, "AGENTSMITH_TOKEN")
	_, stderr, err = runCLI(t, env, "runs", "list")
	g.Expect(exitCode(err)).To(Equal(exitAPI))
	g.Expect(stderr).To(ContainSubstring("pass --token or set AGENTSMITH_TOKEN"))
	_, stderr, err = runCLI(t, env, "runs", "list", "--server", "http://"+freeAddr(t))
	g.Expect(exitCode(err)).To(Equal(exitAPI))
	g.Expect(stderr).To(ContainSubstring("connection refused"))
}

// finalize plays the finalizer for run id: its ticket is told, its claim
// released.
func finalize(t *testing.T, store *runs.Store, id string) {
	t.Helper()
	for {
		f, ok, err := store.NextFinalize(context.Background(), "finalizer-test")
		if err != nil || !ok {
			t.Fatalf("no finalize entry for run %s: %v", id, err)
		}
		if err := store.Finalized(context.Background(), f, runs.FinalizeDone, ""); err != nil {
			t.Fatal(err)
		}
		if f.RunID == id {
			return
		}
	}
}
