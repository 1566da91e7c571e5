package controllers

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// startGarbageCollector runs the real kube-controller-manager against the
// envtest apiserver with nothing but the garbage collector, until the test
// ends.
func startGarbageCollector(t *testing.T) {
	t.Helper()
	user, err := testenv.SharedCluster(t).Env.AddUser(envtest.User{Name: "kube-controller-manager", Groups: []string{"system:masters"}}, nil)
	must(t, err)
	kubeconfig, err := user.KubeConfig()
	must(t, err)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, os.WriteFile(path, kubeconfig, 0o600))
	cmd := exec.Command(testenv.ControllerManagerPath(),
		"--kubeconfig", path, "--controllers", "garbagecollector", "--leader-elect=false",
		"--secure-port", "0", "--use-service-account-credentials=false")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	must(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("kube-controller-manager output:\n%s", out.String())
		}
	})
}

func TestDeadOrchestratorsSandboxPodsAreGarbageCollectedThroughTheirOwnerReference(t *testing.T) {
	g := NewWithT(t)
	e := startSandboxEnv(t, sandboxEnvOptions{})
	run := e.startRun("acme/api#11", "api", "web")
	_, err := e.provision(run)
	g.Expect(err).NotTo(HaveOccurred())
	for name, pod := range e.pods(g, run.ID) {
		g.Expect(pod.OwnerReferences).To(HaveLen(1), name)
		g.Expect(pod.OwnerReferences[0].UID).To(Equal(e.ownerPod.UID), "%s is owned by the orchestrator pod", name)
	}

	// The replica dies: nothing of it reconciles any more, and its pod goes.
	e.stopMgr()
	g.Expect(e.c.Delete(context.Background(), e.ownerPod)).To(Succeed())
	g.Consistently(e.podNames(run.ID)).WithTimeout(2*time.Second).Should(HaveLen(2), "nothing but the garbage collector removes them")

	startGarbageCollector(t)

	g.Eventually(e.podNames(run.ID)).WithTimeout(3*time.Minute).WithPolling(250*time.Millisecond).Should(BeEmpty(),
		"the garbage collector deletes the sandboxes of the orchestrator pod that is gone")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
