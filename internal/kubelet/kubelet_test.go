package kubelet_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/agent-smith/agent-smith/internal/kubelet"
	"github.com/agent-smith/agent-smith/internal/testenv"
)

var cluster *testenv.Cluster

func TestMain(m *testing.M) {
	var err error
	if cluster, err = testenv.StartCluster(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = cluster.Stop()
	os.Exit(code)
}

// harness starts a kubelet for the pods labelled kubelet-test in a fresh
// namespace, and returns the namespace and a client.
func harness(t *testing.T, asPodUsers bool) (*kubelet.Kubelet, string, kubernetes.Interface) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "kubelet-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := kubelet.Start(cluster.Config, kubelet.Options{Namespace: ns.Name, RunAsPodUsers: asPodUsers,
		Selector: labels.SelectorFromSet(labels.Set{"kubelet-test": "yes"})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Stop)
	return k, ns.Name, cs
}

// shell is a container running script; the harness maps mount paths in
// whole arguments and environment values only, so scripts name their
// volumes as $SHARED, $WORK, $GIT and $HOME_DIR.
func shell(name, script string) corev1.Container {
	return corev1.Container{Name: name, Image: "busybox", Command: []string{"sh", "-c", script}, Env: []corev1.EnvVar{
		{Name: "SHARED", Value: "/shared"}, {Name: "WORK", Value: "/work"}, {Name: "GIT", Value: "/git"}, {Name: "HOME_DIR", Value: "/home"},
	}}
}

func create(t *testing.T, cs kubernetes.Interface, ns string, spec corev1.PodSpec) *corev1.Pod {
	t.Helper()
	spec.RestartPolicy = corev1.RestartPolicyNever
	pod, err := cs.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"kubelet-test": "yes"}}, Spec: spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

func get(g Gomega, cs kubernetes.Interface, ns string) *corev1.Pod {
	pod, err := cs.CoreV1().Pods(ns).Get(context.Background(), "p", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	return pod
}

func TestNativeSidecarStartsBeforeAndStopsAfterTheMainContainer(t *testing.T) {
	g := NewWithT(t)
	k, ns, cs := harness(t, false)
	shared := []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
	sidecar := shell("sidecar", `echo run >> $SHARED/sidecar
trap 'echo stopped >> $SHARED/sidecar; exit 0' TERM
test "$(grep -c run $SHARED/sidecar)" -ge 2 || exit 1 # exits once, to be restarted
while :; do sleep 0.05; done`)
	sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	sidecar.VolumeMounts = shared
	main := shell("main", `until test "$(grep -c run $SHARED/sidecar)" -ge 2; do sleep 0.05; done; echo main saw the sidecar twice`)
	main.VolumeMounts = shared
	create(t, cs, ns, corev1.PodSpec{InitContainers: []corev1.Container{sidecar}, Containers: []corev1.Container{main},
		Volumes: []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}})

	// It runs beside the main container (restarted once), which does not
	// wait for it to exit; once the main container is done the sidecar is
	// stopped, and the pod succeeds whatever the sidecar's exit.
	g.Eventually(func(g Gomega) corev1.PodPhase { return get(g, cs, ns).Status.Phase }).WithTimeout(30 * time.Second).Should(Equal(corev1.PodSucceeded))
	pod := get(g, cs, ns)
	g.Expect(pod.Status.InitContainerStatuses).To(ConsistOf(And(HaveField("Name", "sidecar"), HaveField("RestartCount", int32(1)))))
	g.Expect(k.Logs(ns, "p", "main")).To(ContainSubstring("main saw the sidecar twice"))
	g.Expect(pod.Status.ContainerStatuses[0].State.Terminated.ExitCode).To(BeZero())
}

func TestContainersRunAsTheirUsersWhenRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can run containers as their pod's users; CI runs as root")
	}
	g := NewWithT(t)
	k, ns, cs := harness(t, true)
	// The pod runs as 1000 with fsGroup 1000; the gate-like container as
	// 65532. Each writes its own volume and reads the other's, which it
	// mounts read-only.
	gate := shell("gate", `id -u; id -G; echo from-gate > $GIT/objects; cat $WORK/file; ! touch $WORK/intruder 2>/dev/null && echo work-is-read-only`)
	gate.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532)}
	gate.VolumeMounts = []corev1.VolumeMount{{Name: "git", MountPath: "/git"}, {Name: "work", MountPath: "/work", ReadOnly: true}}
	writer := shell("toolchain", `id -u; echo from-toolchain > $WORK/file; until test -s $GIT/objects; do sleep 0.05; done; cat $GIT/objects
! touch $GIT/intruder 2>/dev/null && echo git-is-read-only; echo home > $HOME_DIR/x && echo home-is-writable`)
	writer.VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work"}, {Name: "git", MountPath: "/git", ReadOnly: true}, {Name: "home", MountPath: "/home"}}
	// The toolchain's file comes first: the gate starts after it here.
	gate.Command[2] = "until test -s $WORK/file; do sleep 0.05; done; " + gate.Command[2]
	dir := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	}
	create(t, cs, ns, corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](1000), FSGroup: ptr.To[int64](1000)},
		Containers:      []corev1.Container{writer, gate}, Volumes: []corev1.Volume{dir("work"), dir("git"), dir("home")},
	})
	g.Eventually(func(g Gomega) corev1.PodPhase { return get(g, cs, ns).Status.Phase }).WithTimeout(30*time.Second).Should(Equal(corev1.PodSucceeded),
		func() string { return k.Logs(ns, "p", "gate") + k.Logs(ns, "p", "toolchain") })
	g.Expect(strings.Fields(k.Logs(ns, "p", "gate"))).To(Equal([]string{"65532", "65532", "1000", "from-toolchain", "work-is-read-only"}))
	g.Expect(strings.Fields(k.Logs(ns, "p", "toolchain"))).To(Equal([]string{"1000", "from-gate", "git-is-read-only", "home-is-writable"}))
}
