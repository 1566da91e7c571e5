package cli

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// recordingRegistry notes the name of every metric registered in it: a
// labelled metric nobody has observed yet is in no scrape, but its
// description is.
type recordingRegistry struct {
	*prometheus.Registry
	mu    sync.Mutex
	names map[string]bool
}

// fqName is how a prometheus.Desc prints its name.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recordingRegistry) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	r.mu.Lock()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	r.mu.Unlock()
	return r.Registry.Register(c)
}

func (r *recordingRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// replicaMetrics assembles a replica as `serve` does for the local example
// (embedded Redis, local sandboxes; nothing started) and returns the
// names of agent-smith's metrics it registers.
func replicaMetrics(t *testing.T) map[string]bool {
	t.Helper()
	env := envFrom(map[string]string{"AGENTSMITH_CONFIG": filepath.Join("..", "..", "examples", "local", "agentsmith.yml"),
		"GITHUB_WEBHOOK_SECRET": "s3cret", "AGENTSMITH_RUNS_DIR": t.TempDir()})
	o, err := parseServe(nil, env, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(o.configPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(raw, o.configPath, env, configKinds())
	if err != nil {
		t.Fatal(err)
	}
	trs, err := connect.Trackers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := openRedis(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	reg := &recordingRegistry{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	if _, err := newReplica(o, conn, &trackers.Snapshot{Config: cfg, Trackers: trs}, logr.Discard(), reg); err != nil {
		t.Fatal(err)
	}
	return reg.names
}

// agentsmithMetric is a metric name in PromQL, with a histogram's or
// summary's series suffix if it has one.
var agentsmithMetric = regexp.MustCompile(`\bagentsmith_[a-z0-9_]+`)

// TestMonitoringNamesOnlyMetricsTheOrchestratorExports reads the alerts and
// the dashboard of manifests/monitoring: every agentsmith_ metric they name
// must be one a replica registers (a renamed metric would silence an alert
// and blank a panel without any error), and the dashboard plots every one.
func TestMonitoringNamesOnlyMetricsTheOrchestratorExports(t *testing.T) {
	g := NewWithT(t)
	exported := replicaMetrics(t)
	g.Expect(exported).To(HaveKey("agentsmith_runs"))
	g.Expect(exported).To(HaveKey("agentsmith_redis_up"))
	g.Expect(exported).To(HaveKey("agentsmith_leader"))

	dir := filepath.Join("..", "..", "manifests", "monitoring")
	plotted := map[string]bool{}
	for _, file := range []string{"prometheusrule.yaml", "dashboard.json"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		g.Expect(err).NotTo(HaveOccurred())
		for _, name := range agentsmithMetric.FindAllString(string(data), -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if trimmed, ok := strings.CutSuffix(name, suffix); ok && exported[trimmed] {
					base = trimmed
				}
			}
			g.Expect(exported).To(HaveKey(base), "%s names %s, which the orchestrator does not export", file, name)
			if file == "dashboard.json" {
				plotted[base] = true
			}
		}
	}
	var missing []string
	for name := range exported {
		if !plotted[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	g.Expect(missing).To(BeEmpty(), "the dashboard plots every metric of the orchestrator")
}
