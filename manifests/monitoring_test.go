package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// promql is Prometheus' parser with its default options.
var promql = parser.NewParser(parser.Options{})

// withMonitoring builds, with kustomize's own library (what kubectl apply
// -k runs), an overlay of the base with the monitoring component, as the
// README tells operators to write it.
func withMonitoring(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	base, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	overlay := t.TempDir()
	// kustomize takes only relative paths to other kustomizations.
	rel, err := filepath.Rel(overlay, base)
	if err != nil {
		t.Fatal(err)
	}
	kust := "resources: [" + rel + "]\ncomponents: [" + filepath.Join(rel, "monitoring") + "]\n"
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), overlay)
	if err != nil {
		t.Fatalf("kustomize build of the base with manifests/monitoring: %v", err)
	}
	var out []*unstructured.Unstructured
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func built(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	t.Fatalf("no %s %s in the build", kind, name)
	return nil
}

// TestMonitoringPodMonitorScrapesEveryOrchestratorReplica checks that the
// PodMonitor selects the orchestrator's pods and names a port they expose.
func TestMonitoringPodMonitorScrapesEveryOrchestratorReplica(t *testing.T) {
	g := NewWithT(t)
	objs := withMonitoring(t)
	var deploy appsv1.Deployment
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(built(t, objs, "Deployment", "agent-smith-orchestrator").Object, &deploy)).To(Succeed())
	var pm struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			PodMetricsEndpoints []struct {
				Port string `json:"port"`
				Path string `json:"path"`
			} `json:"podMetricsEndpoints"`
		} `json:"spec"`
	}
	data, err := json.Marshal(built(t, objs, "PodMonitor", "agent-smith-orchestrator").Object)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(json.Unmarshal(data, &pm)).To(Succeed())

	g.Expect(pm.Spec.Selector.MatchLabels).NotTo(BeEmpty())
	g.Expect(labels.SelectorFromSet(pm.Spec.Selector.MatchLabels).Matches(labels.Set(deploy.Spec.Template.Labels))).To(BeTrue(),
		"the PodMonitor selects the orchestrator's pods")
	ports := map[string]bool{}
	for _, c := range deploy.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
	}
	g.Expect(pm.Spec.PodMetricsEndpoints).To(HaveLen(1))
	g.Expect(ports).To(HaveKey(pm.Spec.PodMetricsEndpoints[0].Port), "a named port of the orchestrator container")
	g.Expect(pm.Spec.PodMetricsEndpoints[0].Path).To(Equal("/metrics"))
}

// TestMonitoringRulesAndDashboardAreValidPromQL parses every alert and
// every dashboard query with Prometheus' own parser, and checks that the
// dashboard reaches Grafana's sidecar as a labelled ConfigMap.
func TestMonitoringRulesAndDashboardAreValidPromQL(t *testing.T) {
	g := NewWithT(t)
	objs := withMonitoring(t)
	alerts := map[string]string{}
	groups, _, _ := unstructured.NestedSlice(built(t, objs, "PrometheusRule", "agent-smith").Object, "spec", "groups")
	for _, gr := range groups {
		rules, _, _ := unstructured.NestedSlice(gr.(map[string]any), "rules")
		for _, r := range rules {
			r := r.(map[string]any)
			alerts[r["alert"].(string)] = r["expr"].(string)
			g.Expect(r["annotations"]).To(HaveKey("summary"), r["alert"])
		}
	}
	g.Expect(alerts).To(HaveKey("AgentSmithBacklogGrowing"))
	g.Expect(alerts).To(HaveKey("AgentSmithRunsFailing"))
	g.Expect(alerts).To(HaveKey("AgentSmithWebhookErrors"))
	g.Expect(alerts).To(HaveKey("AgentSmithRedisUnreachable"))
	g.Expect(alerts).To(HaveKey("AgentSmithNoLeader"))
	for name, expr := range alerts {
		_, err := promql.ParseExpr(expr)
		g.Expect(err).NotTo(HaveOccurred(), "alert %s: %s", name, expr)
	}

	var cm corev1.ConfigMap
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(built(t, objs, "ConfigMap", "agent-smith-grafana-dashboard").Object, &cm)).To(Succeed())
	g.Expect(cm.Labels).To(HaveKeyWithValue("grafana_dashboard", "1"))
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	g.Expect(json.Unmarshal([]byte(cm.Data["agent-smith.json"]), &dash)).To(Succeed())
	g.Expect(dash.Panels).NotTo(BeEmpty())
	for _, p := range dash.Panels {
		g.Expect(p.Targets).NotTo(BeEmpty(), p.Title)
		for _, tg := range p.Targets {
			// Grafana replaces its variable before the query reaches
			// Prometheus.
			expr := strings.ReplaceAll(tg.Expr, "$__rate_interval", "5m")
			_, err := promql.ParseExpr(expr)
			g.Expect(err).NotTo(HaveOccurred(), "panel %q: %s", p.Title, tg.Expr)
		}
	}
}
