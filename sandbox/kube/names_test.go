package kube_test

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/agent-smith/agent-smith/sandbox/kube"
)

const fence = 1764324000123 // "miioyf7f" in base 36

func TestPodNameIsSandboxRunFenceRepoOrAShortenedDNSLabel(t *testing.T) {
	for _, tc := range []struct {
		repo string
		want string // "" when the name is shortened
	}{
		{"api", "sandbox-" + runID + "-miioyf7f-api"},
		{"todo-list-api", "sandbox-" + runID + "-miioyf7f-todo-list-api"},
		{"Todo_API", ""},
		{"todo.api", ""},
		{strings.Repeat("very-long-repository-name-", 3), ""},
	} {
		t.Run(tc.repo, func(t *testing.T) {
			g := NewWithT(t)
			name := kube.PodName(runID, fence, tc.repo)
			g.Expect(validation.IsDNS1123Label(name)).To(BeEmpty(), "%q is a DNS-1123 label of at most 63 characters", name)
			g.Expect(kube.PodName(runID, fence, tc.repo)).To(Equal(name), "deterministic")
			g.Expect(kube.PodName(runID, fence+1, tc.repo)).NotTo(Equal(name), "another start of the run has another pod")
			if tc.want != "" {
				g.Expect(name).To(Equal(tc.want))
			} else {
				g.Expect(name).To(HavePrefix("sandbox-"+runID+"-miioyf7f-"), "shortening keeps the fence")
			}
		})
	}
}

func TestShortenedNamesAndLabelsStayDistinct(t *testing.T) {
	g := NewWithT(t)
	long := strings.Repeat("x", 70)
	for _, pair := range [][2]string{{"Todo_API", "todo-api"}, {"Todo_API", "todo_api"}, {long + "a", long + "b"}} {
		g.Expect(kube.PodName(runID, fence, pair[0])).NotTo(Equal(kube.PodName(runID, fence, pair[1])), "%q vs %q", pair[0], pair[1])
		g.Expect(kube.LabelValue(pair[0])).NotTo(Equal(kube.LabelValue(pair[1])), "%q vs %q", pair[0], pair[1])
	}
}

func TestLabelValueKeepsValidValuesAndFixesOthers(t *testing.T) {
	for _, in := range []string{"api", "Billing_Service.v2", "agent-smith-orchestrator-7d9f8-x2x4q", strings.Repeat("a", 64), "-lead", "a/b:c", ""} {
		got := kube.LabelValue(in)
		NewWithT(t).Expect(validation.IsValidLabelValue(got)).To(BeEmpty(), "%q → %q", in, got)
		if len(validation.IsValidLabelValue(in)) == 0 {
			NewWithT(t).Expect(got).To(Equal(in))
		}
	}
}

func TestOwnedByNeedsBothLabelAndOwnerReference(t *testing.T) {
	pod := func(owner, uid string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Labels:          map[string]string{kube.LabelOwner: owner},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: owner, UID: types.UID("u-" + uid)}},
		}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want bool
	}{
		{"same replica", pod("replica-a", "1"), true},
		{"other replica", pod("replica-b", "2"), false},
		{"same name, restarted pod (new uid)", pod("replica-a", "9"), false},
	} {
		NewWithT(t).Expect(kube.OwnedBy(tc.pod, "replica-a", "u-1")).To(Equal(tc.want), tc.name)
	}
}
