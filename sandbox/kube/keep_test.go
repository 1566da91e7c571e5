package kube_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/agent-smith/agent-smith/sandbox/kube"
)

func TestKeptPodCarriesTheLabelAndItsKeepUntilInUTCToTheSecond(t *testing.T) {
	g := NewWithT(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: kube.PodName(runID, fence, "api"), Namespace: "agents",
		Labels:      map[string]string{kube.LabelRun: runID, kube.LabelComponent: kube.ComponentSandbox},
		Annotations: map[string]string{kube.AnnotationJob: "job-1"}}}
	until := time.Date(2026, 12, 6, 2, 30, 15, 999_000_000, time.FixedZone("CET", 3600))

	kept := kube.Kept(pod, until)

	g.Expect(kept.Annotations).To(Equal(map[string]string{kube.AnnotationJob: "job-1", kube.AnnotationKeepUntil: "2026-12-06T01:30:15Z"}))
	g.Expect(labels.SelectorFromSet(labels.Set{kube.LabelKept: "true"}).Matches(labels.Set(kept.Labels))).To(BeTrue(),
		"kubectl get pods -l agent-smith.dev/kept=true finds it")
	g.Expect(kept.Labels).To(HaveKeyWithValue(kube.LabelRun, runID))
	g.Expect(validation.IsQualifiedName(kube.LabelKept)).To(BeEmpty())
	g.Expect(validation.IsQualifiedName(kube.AnnotationKeepUntil)).To(BeEmpty())
	g.Expect(pod.Labels).NotTo(HaveKey(kube.LabelKept), "the pod given is left as it was")
	g.Expect(pod.Annotations).NotTo(HaveKey(kube.AnnotationKeepUntil))

	got, ok := kube.KeepUntil(kept)
	g.Expect(ok).To(BeTrue())
	g.Expect(got).To(BeTemporally("==", until.Truncate(time.Second)))

	msg := kube.KeptMessage(kept, until)
	g.Expect(msg).To(ContainSubstring("run " + runID + " failed"))
	g.Expect(msg).To(ContainSubstring("until 2026-12-06T01:30:15Z"))
	g.Expect(msg).To(ContainSubstring("kubectl delete pod -n agents " + pod.Name))
	g.Expect(msg).To(ContainSubstring("kubectl logs -n agents " + pod.Name + " --all-containers"))
}

func TestKeepUntilOfAPodIsOnlyAParsableAnnotation(t *testing.T) {
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		ok          bool
	}{
		{"no annotations", nil, false},
		{"another annotation", map[string]string{kube.AnnotationJob: "j"}, false},
		{"RFC 3339", map[string]string{kube.AnnotationKeepUntil: "2026-12-06T01:30:15Z"}, true},
		{"with an offset", map[string]string{kube.AnnotationKeepUntil: "2026-12-06T02:30:15+01:00"}, true},
		{"a duration, not a time", map[string]string{kube.AnnotationKeepUntil: "30m"}, false},
		{"empty", map[string]string{kube.AnnotationKeepUntil: ""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			until, ok := kube.KeepUntil(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations}})
			g.Expect(ok).To(Equal(tc.ok))
			if ok {
				g.Expect(until).To(BeTemporally("==", time.Date(2026, 12, 6, 1, 30, 15, 0, time.UTC)))
			}
		})
	}
}
