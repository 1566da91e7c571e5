package manifests

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/server"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// The tests that apply the manifests share an envtest control plane
// (testenv.SharedCluster); the ones that read them need none.
func TestMain(m *testing.M) { testenv.Main(m) }

// objects are the Kustomize base's objects as `kubectl kustomize` renders
// them.
func objects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	return decode(t, build(t, "."))
}

func readYAML(t *testing.T, file string, into any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func find[T runtime.Object](t *testing.T, kind, name string, into T) T {
	t.Helper()
	for _, u := range objects(t) {
		if u.GetKind() == kind && u.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
				t.Fatal(err)
			}
			return into
		}
	}
	t.Fatalf("no %s %s in the manifests", kind, name)
	return into
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	g := NewWithT(t)
	var kust struct{ Resources []string }
	readYAML(t, "kustomization.yaml", &kust)
	files, err := filepath.Glob("*.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	g.Expect(kust.Resources).To(ConsistOf(files))
}

func TestEveryObjectOfTheSeedIsThere(t *testing.T) {
	g := NewWithT(t)
	var got []string
	for _, u := range objects(t) {
		got = append(got, u.GetKind()+"/"+u.GetName())
		if u.GetKind() != "Namespace" {
			g.Expect(u.GetNamespace()).To(Equal("agent-smith"), "%s/%s", u.GetKind(), u.GetName())
		}
	}
	g.Expect(got).To(ContainElements(
		"Namespace/agent-smith", "ServiceAccount/agent-smith-orchestrator",
		"Role/agent-smith-sandbox-manager", "RoleBinding/agent-smith-sandbox-manager",
		"Secret/agent-smith-secrets", "ConfigMap/agent-smith-config",
		"StatefulSet/agent-smith-redis", "Service/agent-smith-redis",
		"Deployment/agent-smith-orchestrator", "PersistentVolumeClaim/agent-smith-runs",
		"Service/agent-smith-orchestrator", "Ingress/agent-smith",
		"PodDisruptionBudget/agent-smith-orchestrator", "NetworkPolicy/agent-smith-sandboxes",
		"NetworkPolicy/agent-smith-redis", "NetworkPolicy/agent-smith-orchestrator", "ConfigMap/agent-smith-redis",
	))
}

// The shipped Redis fsyncs every write: a webhook answered 2xx, a keyword
// comment or an answer survives a node crash.
func TestRedisFsyncsEveryWrite(t *testing.T) {
	conf := find(t, "ConfigMap", "agent-smith-redis", &corev1.ConfigMap{}).Data["redis.conf"]
	NewWithT(t).Expect(strings.Split(conf, "\n")).To(ContainElements("appendonly yes", "appendfsync always"))
}

// The orchestrator's and Redis' pods are admitted in a namespace enforcing
// the restricted Pod Security profile (as the base's namespace does).
func TestPodTemplatesAreAdmittedUnderRestrictedPodSecurity(t *testing.T) {
	g := NewWithT(t)
	c, err := client.New(testenv.SharedCluster(t).Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	ns := &corev1.Namespace{}
	ns.GenerateName = "restricted-"
	ns.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	g.Expect(c.Create(ctx, ns)).To(Succeed())

	deploy := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{})
	redis := find(t, "StatefulSet", "agent-smith-redis", &appsv1.StatefulSet{})
	// The StatefulSet controller adds a volume per claim template.
	for _, claim := range redis.Spec.VolumeClaimTemplates {
		redis.Spec.Template.Spec.Volumes = append(redis.Spec.Template.Spec.Volumes, corev1.Volume{
			Name: claim.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: claim.Name + "-agent-smith-redis-0",
			}},
		})
	}
	for name, tmpl := range map[string]corev1.PodTemplateSpec{"orchestrator": deploy.Spec.Template, "redis": redis.Spec.Template} {
		pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
		pod.Namespace, pod.Name = ns.Name, name
		g.Expect(c.Create(ctx, pod, client.DryRunAll)).To(Succeed(), "%s pod under restricted", name)
	}

	// The profile really is enforced: a root pod is refused.
	root := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	root.Namespace, root.Name = ns.Name, "root"
	g.Expect(c.Create(ctx, root, client.DryRunAll)).NotTo(Succeed())
}

// The ConfigMap carries a valid agentsmith.yml: the TodoList example the
// config tests also load.
func TestConfigMapHoldsAValidConfig(t *testing.T) {
	g := NewWithT(t)
	cm := find(t, "ConfigMap", "agent-smith-config", &corev1.ConfigMap{})
	data := cm.Data["agentsmith.yml"]
	env := map[string]string{"AZURE_OPENAI_API_KEY": "k", "AZURE_DEVOPS_TOKEN": "t", "AZURE_DEVOPS_WEBHOOK_SECRET": "s"}
	cfg, err := config.Parse([]byte(data), "agentsmith.yml", func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.Projects).To(HaveKey("azuredevops-todolist"))

	fixture, err := os.ReadFile(filepath.Join("..", "config", "testdata", "todolist.yml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(data).To(Equal(string(fixture)), "config/testdata/todolist.yml and the ConfigMap drifted apart")

	// The pod is given time to drain runs before it is killed.
	deploy := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{})
	g.Expect(*deploy.Spec.Template.Spec.TerminationGracePeriodSeconds).To(BeNumerically(">", cfg.Queue.ShutdownGraceSeconds))
}

// TestIngressExposesOnlyTheWebhooksPort: the Ingress routes to the
// Service's http port alone, which serves the webhooks and probes and
// answers 404 for the run API and the metrics; those are on the admin
// port, which the pod and the Service have and no Ingress names.
func TestIngressExposesOnlyTheWebhooksPort(t *testing.T) {
	g := NewWithT(t)
	svc := find(t, "Service", "agent-smith-orchestrator", &corev1.Service{})
	ports := map[string]corev1.ServicePort{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p
	}
	g.Expect(ports).To(HaveKeyWithValue("admin", HaveField("Port", BeEquivalentTo(8081))))
	deploy := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{})
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Ports).To(ContainElements(
		corev1.ContainerPort{Name: "http", ContainerPort: 8080},
		corev1.ContainerPort{Name: "admin", ContainerPort: 8081},
	))

	var backends int
	for _, u := range objects(t) {
		if u.GetKind() != "Ingress" {
			continue
		}
		ing := &networkingv1.Ingress{}
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ing)).To(Succeed())
		for _, rule := range ing.Spec.Rules {
			for _, path := range rule.HTTP.Paths {
				backends++
				port := path.Backend.Service.Port
				g.Expect(path.Path).To(Equal("/webhooks"))
				g.Expect(port.Name).To(Equal("http"), "Ingress %s names the port by name", ing.Name)
				g.Expect(port.Name).NotTo(Equal("admin"))
				g.Expect(port.Number).NotTo(Equal(ports["admin"].Port))
			}
		}
	}
	g.Expect(backends).To(BeNumerically(">", 0))

	// What the http port serves: the public mux.
	routes := server.Routes{
		Webhooks: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }),
		Console:  http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }),
		Health:   &server.Health{}, Gatherer: prometheus.NewRegistry(),
	}
	public := httptest.NewServer(routes.Public())
	defer public.Close()
	for _, path := range []string{"/", "/runs/x", "/api/runs", "/api/runs/x", "/metrics"} {
		resp, err := http.Get(public.URL + path)
		g.Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		g.Expect(resp.StatusCode).To(Equal(http.StatusNotFound), path)
	}
}
