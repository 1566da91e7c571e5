package manifests

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/agent-smith/agent-smith/internal/testenv"
)

// build renders the kustomization in dir as `kubectl kustomize dir` does.
func build(t *testing.T, dir string) []byte {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return out
}

// decode splits a rendered kustomization into its objects, in order.
func decode(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// kustomizations are everything a user applies with `kubectl apply -k`:
// the base and every example overlay (which between them use each
// component alone, both, and neither).
func kustomizations(t *testing.T) []string {
	t.Helper()
	overlays, err := filepath.Glob(filepath.Join("..", "examples", "*", "kustomization.yaml"))
	if err != nil || len(overlays) < 4 {
		t.Fatalf("example overlays: %v, %v", overlays, err)
	}
	dirs := []string{"."}
	for _, o := range overlays {
		dirs = append(dirs, filepath.Dir(o))
	}
	return dirs
}

func convert[T any](t *testing.T, u *unstructured.Unstructured, into *T) *T {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatal(err)
	}
	return into
}

func byKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	return slices.DeleteFunc(slices.Clone(objs), func(u *unstructured.Unstructured) bool { return u.GetKind() != kind })
}

func TestEveryKustomizationBuildsTheSameBytesTwice(t *testing.T) {
	for _, dir := range kustomizations(t) {
		first, second := build(t, dir), build(t, dir)
		if !bytes.Equal(first, second) {
			t.Errorf("kustomize build %s differs between two runs", dir)
		}
	}
}

// The apiserver accepts every object of the base and of every overlay, in
// the order kustomize renders them, applied server-side as `kubectl apply
// --server-side -k` would. They are applied one after the other into the
// same namespace, so each also proves the switch from the one before (the
// runs volume from a claim to per-pod storage and back).
func TestEveryKustomizationAppliesToARealAPIServer(t *testing.T) {
	c, err := client.New(testenv.SharedCluster(t).Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range kustomizations(t) {
		t.Run(dir, func(t *testing.T) {
			g := NewWithT(t)
			for _, u := range decode(t, build(t, dir)) {
				g.Expect(c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("kubectl"), client.ForceOwnership)).
					To(Succeed(), "%s: %s/%s", dir, u.GetKind(), u.GetName())
			}
		})
	}
}

// wantLabels are the recommended labels every object carries; component
// is checked apart (the Namespace has none).
var wantLabels = map[string]string{
	"app.kubernetes.io/name":       "agent-smith",
	"app.kubernetes.io/instance":   "agent-smith",
	"app.kubernetes.io/part-of":    "agent-smith",
	"app.kubernetes.io/managed-by": "kustomize",
}

func expectRecommended(g Gomega, where string, labels map[string]string, component bool) {
	for k, v := range wantLabels {
		g.Expect(labels).To(HaveKeyWithValue(k, v), where)
	}
	if component {
		g.Expect(labels).To(HaveKeyWithValue("app.kubernetes.io/component", Not(BeEmpty())), where)
	}
}

// Every object, pod template and per-pod claim of every kustomization has
// the app.kubernetes.io labels; the selectors are still the seed's `app:`
// ones (immutable on a Deployment and a StatefulSet), and no pod of the
// manifests says managed-by=agent-smith, which would put it in the
// orchestrator's cache of its own sandbox pods.
func TestEveryObjectCarriesTheRecommendedLabels(t *testing.T) {
	builds := map[string][]*unstructured.Unstructured{"base with monitoring": withMonitoring(t)}
	for _, dir := range kustomizations(t) {
		builds[dir] = decode(t, build(t, dir))
	}
	for dir, objs := range builds {
		g := NewWithT(t)
		for _, u := range objs {
			where := dir + ": " + u.GetKind() + "/" + u.GetName()
			expectRecommended(g, where, u.GetLabels(), u.GetKind() != "Namespace")
			var pod *corev1.PodTemplateSpec
			switch u.GetKind() {
			case "Deployment":
				d := convert(t, u, &appsv1.Deployment{})
				g.Expect(d.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "agent-smith-orchestrator"}), where)
				g.Expect(d.Labels).To(HaveKey("app.kubernetes.io/version"), where)
				pod = &d.Spec.Template
			case "StatefulSet":
				s := convert(t, u, &appsv1.StatefulSet{})
				g.Expect(s.Spec.Selector.MatchLabels).To(Equal(map[string]string{"app": "agent-smith-redis"}), where)
				g.Expect(s.Labels).To(HaveKey("app.kubernetes.io/version"), where)
				pod = &s.Spec.Template
			case "Service":
				s := convert(t, u, &corev1.Service{})
				g.Expect(maps.Keys(s.Spec.Selector)).To(ConsistOf("app"), where)
			}
			if pod == nil {
				continue
			}
			expectRecommended(g, where+" pod template", pod.Labels, true)
			g.Expect(pod.Labels).To(HaveKey("app.kubernetes.io/version"), where)
			for _, v := range pod.Spec.Volumes {
				if v.Ephemeral != nil {
					expectRecommended(g, where+" volume "+v.Name, v.Ephemeral.VolumeClaimTemplate.Labels, true)
				}
			}
		}
	}
}

// The orchestrator's version label is the tag of the image it runs.
func TestTheVersionLabelIsTheImageTag(t *testing.T) {
	g := NewWithT(t)
	d := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{})
	image := d.Spec.Template.Spec.Containers[0].Image
	_, tag, ok := strings.Cut(image, ":")
	g.Expect(ok).To(BeTrue(), image)
	g.Expect(d.Labels["app.kubernetes.io/version"]).To(Equal(tag))
	g.Expect(d.Spec.Template.Labels["app.kubernetes.io/version"]).To(Equal(tag))
	s := find(t, "StatefulSet", "agent-smith-redis", &appsv1.StatefulSet{})
	_, tag, _ = strings.Cut(s.Spec.Template.Spec.Containers[0].Image, ":")
	g.Expect(s.Spec.Template.Labels["app.kubernetes.io/version"]).To(Equal(tag))
}

// An install of the seed's own objects (the hosting page, applied as it
// is) takes the base in place: the labels added to the Deployment and the
// StatefulSet touch none of their immutable fields.
func TestTheSeedsInstallUpgradesInPlace(t *testing.T) {
	g := NewWithT(t)
	c, err := client.New(testenv.SharedCluster(t).Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()
	ns := &corev1.Namespace{}
	ns.GenerateName = "seed-upgrade-"
	g.Expect(c.Create(ctx, ns)).To(Succeed())
	seed, err := os.ReadFile(filepath.Join("testdata", "seed.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	apply := func(objs []*unstructured.Unstructured) {
		for _, u := range objs {
			if u.GetKind() == "Namespace" {
				continue
			}
			u.SetNamespace(ns.Name)
			g.Expect(c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("kubectl"), client.ForceOwnership)).
				To(Succeed(), "%s/%s", u.GetKind(), u.GetName())
		}
	}
	apply(decode(t, seed))
	apply(objects(t))

	d := &appsv1.Deployment{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "agent-smith-orchestrator"}, d)).To(Succeed())
	expectRecommended(g, "upgraded Deployment", d.Spec.Template.Labels, true)
	s := &appsv1.StatefulSet{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: "agent-smith-redis"}, s)).To(Succeed())
	expectRecommended(g, "upgraded StatefulSet", s.Spec.Template.Labels, true)
}

// The orchestrator's replicas spread over nodes and zones, but a cluster
// of one node still runs both.
func TestTheOrchestratorSpreadsWithoutRequiringNodes(t *testing.T) {
	g := NewWithT(t)
	d := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{})
	g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(2))
	var keys []string
	for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
		keys = append(keys, c.TopologyKey)
		g.Expect(c.WhenUnsatisfiable).To(Equal(corev1.ScheduleAnyway), c.TopologyKey)
		g.Expect(selects(g, *c.LabelSelector, d.Spec.Template.Labels)).To(BeTrue(), c.TopologyKey)
	}
	g.Expect(keys).To(ConsistOf(corev1.LabelHostname, corev1.LabelTopologyZone))
}

// Redis' root filesystem is read-only: everything it writes is a volume
// (its data directory, the image's working directory; the ACL file's
// directory); it holds no service account token; memory is capped.
func TestRedisWritesOnlyToItsVolumes(t *testing.T) {
	g := NewWithT(t)
	s := find(t, "StatefulSet", "agent-smith-redis", &appsv1.StatefulSet{})
	spec := s.Spec.Template.Spec
	g.Expect(*spec.AutomountServiceAccountToken).To(BeFalse())
	ctr := spec.Containers[0]
	g.Expect(*ctr.SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())
	var mounts []string
	for _, m := range ctr.VolumeMounts {
		if !m.ReadOnly {
			mounts = append(mounts, m.MountPath)
		}
	}
	g.Expect(mounts).To(ContainElements("/data", "/run/redis", "/tmp"))
	conf := find(t, "ConfigMap", "agent-smith-redis", &corev1.ConfigMap{}).Data["redis.conf"]
	g.Expect(conf).To(ContainSubstring("aclfile /run/redis/"))
	g.Expect(conf).To(ContainSubstring("maxmemory "))
	g.Expect(conf).NotTo(MatchRegexp(`(?m)^dir `), "the data directory is the image's working directory, /data")
}

// The no-rwx component drops the shared claim and gives each of the two
// replicas a ReadWriteOnce volume of its own at the same path; its pod is
// admitted under the restricted profile. The ingress component keeps the
// TLS block without cert-manager.
func TestTheComponentsDoWhatTheySay(t *testing.T) {
	g := NewWithT(t)
	objs := decode(t, build(t, filepath.Join("..", "examples", "gitlab")))
	g.Expect(byKind(objs, "PersistentVolumeClaim")).To(BeEmpty())
	d := convert(t, byKind(objs, "Deployment")[0], &appsv1.Deployment{})
	g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(2))
	var runs *corev1.Volume
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "runs" {
			runs = &d.Spec.Template.Spec.Volumes[i]
		}
	}
	g.Expect(runs).NotTo(BeNil())
	g.Expect(runs.PersistentVolumeClaim).To(BeNil())
	g.Expect(runs.Ephemeral.VolumeClaimTemplate.Spec.AccessModes).To(Equal([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}))
	g.Expect(d.Spec.Template.Spec.Containers[0].VolumeMounts).To(ContainElement(
		corev1.VolumeMount{Name: "runs", MountPath: "/var/lib/agent-smith/runs"}))

	c, err := client.New(testenv.SharedCluster(t).Config, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	ns := &corev1.Namespace{}
	ns.GenerateName = "restricted-"
	ns.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
	g.Expect(c.Create(context.Background(), ns)).To(Succeed())
	pod := &corev1.Pod{ObjectMeta: d.Spec.Template.ObjectMeta, Spec: d.Spec.Template.Spec}
	pod.Namespace, pod.Name = ns.Name, "orchestrator"
	g.Expect(c.Create(context.Background(), pod, client.DryRunAll)).To(Succeed())

	ing := convert(t, byKind(objs, "Ingress")[0], &networkingv1.Ingress{})
	g.Expect(ing.Annotations).NotTo(HaveKey("cert-manager.io/cluster-issuer"))
	g.Expect(ing.Spec.TLS).To(ConsistOf(HaveField("SecretName", "agent-smith-tls")))
	base := find(t, "Ingress", "agent-smith", &networkingv1.Ingress{})
	g.Expect(base.Annotations).To(HaveKey("cert-manager.io/cluster-issuer"), "the base keeps the seed's Ingress")
	g.Expect(find(t, "PersistentVolumeClaim", "agent-smith-runs", &corev1.PersistentVolumeClaim{}).Spec.AccessModes).
		To(Equal([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}), "the base keeps the seed's claim")
}
