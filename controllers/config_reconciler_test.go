package controllers

import (
	"context"
	"testing"
	"time"

	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

const baseConfig = `
agents:
  replay: {type: scripted, script: /tmp/none.yaml}
repos:
  api: {type: git, url: /srv/git/api.git}
trackers:
  shop:
    type: github
    project: acme/shop
    auth: token
    webhook_secret: s3cret
skills: {version: v3.0.1}
secrets: {token: t0ken}
projects:
  shop: {agent: replay, tracker: shop, repos: [api]}
`

func buildSnapshot(data []byte) (*trackers.Snapshot, error) {
	cfg, err := config.Parse(data, ConfigKey, nil, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	if err != nil {
		return nil, err
	}
	return &trackers.Snapshot{Config: cfg, Trackers: map[string]trackers.Tracker{}}, nil
}

func TestConfigMapChangeIsReloadedAndAnInvalidOneRefused(t *testing.T) {
	g := NewWithT(t)
	c := newClient(t)
	ns := newNamespace(t, c)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent-smith-config"},
		Data: map[string]string{ConfigKey: baseConfig}}
	g.Expect(c.Create(ctx, cm)).To(Succeed())

	first, err := buildSnapshot([]byte(baseConfig))
	g.Expect(err).NotTo(HaveOccurred())
	current := trackers.NewCurrent(first)
	mgr, err := ctrl.NewManager(testenv.SharedCluster(t).Config, ctrl.Options{
		Metrics: metricsserver.Options{BindAddress: "0"},
		// The package runs many managers in one process; controller
		// names are unique per process.
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
		Cache:      CacheOptions(ns, "agent-smith-config"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	r := NewConfigReconciler(mgr.GetClient(), types.NamespacedName{Namespace: ns, Name: "agent-smith-config"},
		current, buildSnapshot, mgr.GetEventRecorder("agent-smith"), []byte(baseConfig))
	g.Expect(r.SetupWithManager(mgr)).To(Succeed())
	startManager(t, mgr)

	projects := func() []string {
		snap, _ := current.Load()
		var out []string
		for p := range snap.Config.Projects {
			out = append(out, p)
		}
		return out
	}
	g.Consistently(projects).WithTimeout(500 * time.Millisecond).Should(ConsistOf("shop"))

	// A valid change (a new project) takes effect without a restart; a
	// setting read only at start is named in an Event as waiting for one.
	_, changed := current.Load()
	cm.Data[ConfigKey] = baseConfig + "  shop-docs: {agent: replay, tracker: shop, repos: [api]}\nqueue: {max_parallel_jobs: 9}\n"
	g.Expect(c.Update(ctx, cm)).To(Succeed())
	g.Eventually(changed).WithTimeout(10 * time.Second).Should(BeClosed())
	g.Expect(projects()).To(ConsistOf("shop", "shop-docs"))
	g.Eventually(func() []string { return eventNotes(g, c, ns, "RestartRequired") }).
		WithTimeout(10 * time.Second).Should(ContainElement(ContainSubstring("queue.max_parallel_jobs")))

	// An invalid change is refused with an Event naming the error; the old
	// config keeps serving.
	_, changed = current.Load()
	cm.Data[ConfigKey] = baseConfig + "  broken: {agent: nobody, tracker: shop, repos: [api]}\n"
	g.Expect(c.Update(ctx, cm)).To(Succeed())
	g.Eventually(func() []string { return eventNotes(g, c, ns, "InvalidConfig") }).
		WithTimeout(10 * time.Second).Should(ContainElement(ContainSubstring("projects.broken.agent")))
	g.Expect(changed).NotTo(BeClosed())
	g.Expect(projects()).To(ConsistOf("shop", "shop-docs"))
}

// eventNotes are the notes of the Events with reason on the config
// ConfigMap in ns.
func eventNotes(g Gomega, c client.Client, ns, reason string) []string {
	list := &eventsv1.EventList{}
	g.Expect(c.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	var notes []string
	for _, e := range list.Items {
		if e.Reason == reason && e.Regarding.Name == "agent-smith-config" {
			notes = append(notes, e.Note)
		}
	}
	return notes
}
