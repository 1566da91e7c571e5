package e2e

// The end-to-end flows with the local sandbox backend and no cluster
// (SANDBOX_TYPE=local, no KUBECONFIG): each replica runs every runnable in
// its process and starts a repository's sandbox as `agent-smith
// sandbox-agent` (this test binary) in a work directory of its own; the
// replicas share the flow's redis-server. This file holds the local
// backend's part of the world and its flows.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/agent-smith/agent-smith/internal/cli"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
)

// localWorld is a flow served by replicas with the local sandbox backend.
type localWorld struct {
	*flowWorld
	// boxes is where the sandboxes make their work directories: the
	// replicas' temporary directory.
	boxes string
}

// localWorlds numbers the local flows' Redis key prefixes.
var localWorlds atomic.Int64

// newLocalWorld builds the world.
func newLocalWorld(t *testing.T) *localWorld {
	t.Helper()
	w := &localWorld{flowWorld: newFlowWorld(t, fmt.Sprintf("e2e-local-%d:", localWorlds.Add(1)))}
	// The local backend makes work directories in the system's temporary
	// directory; the flow's own shows what is left there.
	w.boxes = t.TempDir()
	t.Setenv("TMPDIR", w.boxes)
	return w
}

// startReplica starts a replica with the local sandbox backend, named
// name, with configPath. POD_NAME names it, as the downward API names a
// replica's pod.
func (w *localWorld) startReplica(name, configPath string) *replica {
	w.t.Helper()
	return w.startServe(name, configPath, runs.Owner{Name: name}, map[string]string{"SANDBOX_TYPE": "local", "POD_NAME": name,
		"AGENTSMITH_API_TOKENS": "e2e:read:" + runsToken})
}

// runsToken reads the local replicas' run API.
const runsToken = "e2e-read-0123456789abcdef"

// followRun runs `agent-smith runs logs -f id` against r, as an operator
// would next to `make run`; the channel gets its output and error once
// the command ends.
func followRun(r *replica, id string) <-chan followed {
	done := make(chan followed, 1)
	go func() {
		var out strings.Builder
		env := map[string]string{"AGENTSMITH_SERVER": r.adminURL, "AGENTSMITH_TOKEN": runsToken}
		err := cli.Main(context.Background(), []string{"runs", "logs", "-f", id},
			func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &out, &out)
		done <- followed{out.String(), err}
	}()
	return done
}

type followed struct {
	out string
	err error
}

// workDirs are the work directories of sandbox job that exist.
func (w *localWorld) workDirs(job string) []string {
	w.t.Helper()
	dirs, err := filepath.Glob(filepath.Join(w.boxes, "agent-smith-"+job+"-*"))
	if err != nil {
		w.t.Fatal(err)
	}
	return dirs
}

// expectNothingLeft waits for every sandbox of the flow to be gone: no
// sandbox key in Redis, no work directory, no process in one.
func (w *localWorld) expectNothingLeft() {
	w.t.Helper()
	w.expectNoSandboxKeys()
	NewWithT(w.t).Eventually(func() map[int]string { return processesIn(w.boxes) }).
		WithTimeout(time.Minute).Should(BeEmpty(), "sandbox processes")
	NewWithT(w.t).Expect(w.workDirs("*")).To(BeEmpty(), "sandbox work directories")
}

// processesIn maps the processes whose working directory is dir or below
// it (a local sandbox's agent and the commands it runs), also once dir is
// removed, to their command lines. An exited process that is not yet
// reaped has no working directory and is not listed.
func processesIn(dir string) map[int]string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return map[int]string{-1: err.Error()}
	}
	procs := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil {
			continue
		}
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if cwd != dir && !strings.HasPrefix(cwd, dir+string(filepath.Separator)) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		procs[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return procs
}

func TestTodoListWorkItemBecomesLinkedPullRequestsThroughLocalSandboxes(t *testing.T) {
	g := NewWithT(t)
	work := newTodoListWork(t)
	w := newLocalWorld(t)
	a := w.startReplica("replica-a", w.writeConfig(todoListServeConfig(t, work.fake, work.script, w.prefix)))

	id := work.tag(a)
	follow := followRun(a, id)
	run := w.await(id, runs.StateSucceeded)
	g.Expect(run.Owner).To(Equal(a.owner))
	progress := w.progress(id)
	work.expectPublished(run, progress, 1)
	// runs logs -f followed the run to its end and exits 0: it succeeded.
	var f followed
	g.Eventually(follow).WithTimeout(30 * time.Second).Should(Receive(&f))
	g.Expect(f.err).NotTo(HaveOccurred(), f.out)
	g.Expect(f.out).To(And(ContainSubstring("[provision] "), ContainSubstring("run succeeded (succeed, attempt 1)")))

	// One sandbox per repository; both gone with their work directories.
	for key := range todoListRepos {
		g.Expect(progress).To(ContainSubstring("[provision] "+key+": "+sandbox.JobID(id, key, 1, run.Fence)), key)
	}
	w.expectNothingLeft()
}

func TestRunOfAStoppedLocalReplicaIsFinishedByAnotherAsItsNextAttempt(t *testing.T) {
	g := NewWithT(t)
	script, gate := writeSlowFixScript(t)
	calc := newGitHubCalc(t, script)
	w := newLocalWorld(t)
	calc.bind(w.flowWorld)
	config := calc.serveConfig(4)
	a := w.startReplica("replica-a", config)
	n := calc.issue()
	id := calc.label(a, n)

	// Replica A executes the run and is in its slow step: the run is
	// active, attempt 1, and A's sandbox is an agent running the step in
	// its work directory.
	inSlowStep(t, gate)
	run := w.run(g, id)
	g.Expect(run).To(And(HaveField("State", runs.StateRunning), HaveField("Attempt", 1), HaveField("Owner", a.owner)))
	dirsA := w.workDirs(sandbox.JobID(id, "calc", 1, run.Fence))
	g.Expect(dirsA).To(HaveLen(1), "A's sandbox work directory")
	g.Expect(processesIn(dirsA[0])).To(And(
		ContainElement(ContainSubstring("sandbox-agent")),
		ContainElement(ContainSubstring("sleep 600")),
	), "A's sandbox agent and its slow step")

	// Replica B joins; A is stopped while the step still runs. A hands the
	// run back once its grace period is over, and B takes it.
	b := w.startReplica("replica-b", config)
	g.Expect(a.stop()).To(Succeed())
	g.Expect(dirsA[0]).NotTo(BeAnExistingFile(), "A removed its sandbox's work directory as it stopped")
	g.Eventually(func() map[int]string { return processesIn(dirsA[0]) }).
		WithTimeout(time.Minute).Should(BeEmpty(), "A's sandbox agent and its step are gone")

	run = w.await(id, runs.StateSucceeded)
	g.Expect(run).To(And(HaveField("Attempt", 2), HaveField("Owner", b.owner)))
	calc.expectFixPublished(run, n)
	progress := w.progress(id)
	g.Expect(progress).To(ContainSubstring("[provision] calc: " + sandbox.JobID(id, "calc", 2, run.Fence)))
	g.Expect(progress).To(ContainSubstring("[test] calc: `make test` passed"))
	w.expectNothingLeft()
}
