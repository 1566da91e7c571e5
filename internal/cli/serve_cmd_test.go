package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

const serveConfig = `
agents:
  replay: {type: scripted, script: script.yaml}
repos:
  api: {type: git, url: /srv/git/api.git}
trackers:
  shop: {type: github, project: acme/shop, auth: token, webhook_secret: "${SHOP_WEBHOOK_SECRET}"}
projects:
  shop: {agent: replay, tracker: shop, repos: [api]}
skills: {version: v3.0.1}
secrets: {token: t0ken}
queue: {shutdown_grace_seconds: 1}
`

// syncBuffer is a log sink the server goroutine writes and the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestMakeRunServesTheLocalExampleWithoutClusterOrRedis serves what `make
// run` does: examples/local/agentsmith.yml with only the webhook secret and
// the runs directory exported, no cluster and no REDIS_URL.
func TestMakeRunServesTheLocalExampleWithoutClusterOrRedis(t *testing.T) {
	g := NewWithT(t)
	cfg := filepath.Join("..", "..", "examples", "local", "agentsmith.yml")
	addr, adminAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"AGENTSMITH_CONFIG": cfg, "GITHUB_WEBHOOK_SECRET": "s3cret", "AGENTSMITH_RUNS_DIR": t.TempDir(),
		"AGENTSMITH_API_TOKENS": "dev:admin:" + cliAdminToken}
	var logs syncBuffer

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--addr", addr, "--admin-addr", adminAddr}, envFrom(env), os.Stdout, &logs)
	}()
	t.Cleanup(func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("serve did not stop; its log:\n%s", &logs)
		}
	})

	base := "http://" + addr
	g.Eventually(func() int { return status(base + "/readyz") }).WithTimeout(20*time.Second).Should(Equal(http.StatusOK), "%s", &logs)
	g.Expect(status(base + "/healthz")).To(Equal(http.StatusOK))
	// What a tunnel to the webhook port shows: no runs, no page, no metrics.
	g.Expect(status(base + "/metrics")).To(Equal(http.StatusNotFound))
	g.Expect(status(base + "/api/runs")).To(Equal(http.StatusNotFound))
	g.Expect(status(base + "/")).To(Equal(http.StatusNotFound))
	admin := "http://" + adminAddr
	g.Eventually(func() int { return status(admin + "/metrics") }).WithTimeout(20*time.Second).Should(Equal(http.StatusOK), "%s", &logs)
	g.Expect(status(admin+"/api/runs")).To(Equal(http.StatusUnauthorized), "the run API needs a token")
	stdout, stderr, err := runCLI(t, map[string]string{"AGENTSMITH_SERVER": admin, "AGENTSMITH_TOKEN": cliAdminToken}, "runs", "list")
	g.Expect(err).NotTo(HaveOccurred(), stderr)
	g.Expect(stdout).To(ContainSubstring("(no runs)"), "the runs commands reach it")
	resp, err := http.Post(base+"/webhooks/github", "application/json", bytes.NewReader([]byte(`{}`)))
	g.Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusUnauthorized), "an unsigned delivery is refused")
	g.Expect(logs.String()).To(ContainSubstring("embedded in-memory Redis"), "the fallback is said loudly")

	stop()
	g.Eventually(done).WithTimeout(20*time.Second).Should(Receive(&err), "%s", &logs)
	g.Expect(err).NotTo(HaveOccurred())
	done <- nil // for the cleanup
	g.Expect(logs.String()).To(ContainSubstring("draining"))
}

func TestServeRefusesAnInvalidConfigAndStartsNothing(t *testing.T) {
	g := NewWithT(t)
	cfg := filepath.Join(t.TempDir(), "agentsmith.yml")
	g.Expect(os.WriteFile(cfg, []byte(serveConfig+"bogus: 1\n"), 0o644)).To(Succeed())
	var logs syncBuffer
	env := envFrom(map[string]string{"SHOP_WEBHOOK_SECRET": "s3cret"})
	err := Main(context.Background(), []string{"serve", "--config", cfg, "--addr", freeAddr(t)}, env, os.Stdout, &logs)
	g.Expect(exitCode(err)).To(Equal(2))
	g.Expect(logs.String()).To(And(ContainSubstring(fmt.Sprintf("%s:", cfg)), ContainSubstring("bogus: unknown key"), ContainSubstring("nothing started")))
}

func TestServeWithKubernetesSandboxesNeedsANamespace(t *testing.T) {
	g := NewWithT(t)
	var logs syncBuffer
	err := Main(context.Background(), []string{"serve", "--config", "x.yml", "--sandbox", "kubernetes"}, envFrom(nil), os.Stdout, &logs)
	g.Expect(exitCode(err)).To(Equal(2))
	g.Expect(logs.String()).To(ContainSubstring("KUBERNETES_NAMESPACE"))
}

func TestAdminListenerDefaultsToLoopbackOnALaptopAndThePodInACluster(t *testing.T) {
	g := NewWithT(t)
	g.Expect(adminAddress("", sandboxLocal)).To(Equal("127.0.0.1:8081"))
	g.Expect(adminAddress("", sandboxKubernetes)).To(Equal(":8081"))
	g.Expect(adminAddress("off", sandboxKubernetes)).To(BeEmpty())
	g.Expect(adminAddress("127.0.0.1:9000", sandboxKubernetes)).To(Equal("127.0.0.1:9000"))
}
