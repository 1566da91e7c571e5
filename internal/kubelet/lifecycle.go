package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// fault is a node-level event the harness simulates.
type fault string

const (
	faultOOM     fault = "OOMKilled"
	faultEvicted fault = "Evicted"
)

// podRun is one pod the harness runs: its processes, their output, and the
// status it reports. Its lifecycle goroutine is the only writer of the
// pod's status.
type podRun struct {
	k         *Kubelet
	namespace string
	name      string
	uid       types.UID
	dir       string
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}

	mu     sync.Mutex
	procs  map[string]*exec.Cmd
	out    map[string]*output
	exited map[string]bool // containers whose process has been waited for
	fault  fault
	status corev1.PodStatus
}

func newPodRun(k *Kubelet, pod *corev1.Pod) *podRun {
	ctx, cancel := context.WithCancel(k.ctx)
	return &podRun{k: k, namespace: pod.Namespace, name: pod.Name, uid: pod.UID, dir: k.podDir(pod),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		procs: map[string]*exec.Cmd{}, out: map[string]*output{}, exited: map[string]bool{}}
}

func (p *podRun) start(pod *corev1.Pod) {
	go func() {
		defer close(p.done)
		if err := p.lifecycle(pod.DeepCopy()); err != nil && p.ctx.Err() == nil {
			p.k.opts.Log.Error(err, "pod lifecycle failed", "pod", p.namespace+"/"+p.name)
		}
	}()
}

// lifecycle runs the init containers one after the other, then the
// containers, reporting each step, until they have all exited or the pod
// is going away.
func (p *podRun) lifecycle(pod *corev1.Pod) error {
	p.status = pendingStatus(pod)
	if err := p.report(); err != nil {
		return err
	}
	for _, c := range pod.Spec.InitContainers {
		started, ok, err := p.launch(pod, c, true)
		if err != nil || !ok {
			return err
		}
		code, reason, msg := p.wait(c)
		setContainer(&p.status, true, terminated(c.Name, c.Image, started, code, reason, msg))
		if p.ctx.Err() != nil {
			return nil
		}
		if code != 0 {
			return p.finish(pod, corev1.PodFailed)
		}
		if err := p.report(); err != nil {
			return err
		}
	}
	setCondition(&p.status, corev1.PodInitialized, corev1.ConditionTrue, "")
	starts := map[string]metav1.Time{}
	for _, c := range pod.Spec.Containers {
		started, ok, err := p.launch(pod, c, false)
		if err != nil || !ok {
			return err
		}
		starts[c.Name] = started
	}
	p.status.Phase = corev1.PodRunning
	setCondition(&p.status, corev1.ContainersReady, corev1.ConditionTrue, "")
	setCondition(&p.status, corev1.PodReady, corev1.ConditionTrue, "")
	if err := p.report(); err != nil {
		return err
	}
	phase := corev1.PodSucceeded
	for _, c := range pod.Spec.Containers {
		code, reason, msg := p.wait(c)
		setContainer(&p.status, false, terminated(c.Name, c.Image, starts[c.Name], code, reason, msg))
		if code != 0 {
			phase = corev1.PodFailed
		}
	}
	if p.ctx.Err() != nil {
		return nil
	}
	return p.finish(pod, phase)
}

// finish reports the pod's final phase.
func (p *podRun) finish(pod *corev1.Pod, phase corev1.PodPhase) error {
	p.status.Phase = phase
	setCondition(&p.status, corev1.ContainersReady, corev1.ConditionFalse, "PodCompleted")
	setCondition(&p.status, corev1.PodReady, corev1.ConditionFalse, "PodCompleted")
	p.mu.Lock()
	f := p.fault
	p.mu.Unlock()
	if f == faultEvicted {
		p.status.Phase = corev1.PodFailed
		p.status.Reason = "Evicted"
		p.status.Message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi. "
	}
	return p.report()
}

// launch pulls the image, resolves the container's environment and starts
// its process. ok is false when the container cannot start; the status
// then says why, and the pod stays as it is, as with a real kubelet that
// keeps retrying.
func (p *podRun) launch(pod *corev1.Pod, c corev1.Container, init bool) (metav1.Time, bool, error) {
	if p.k.pullFails(c.Image) {
		for _, step := range []struct{ reason, message, event string }{
			{"ErrImagePull", fmt.Sprintf("failed to pull and unpack image %q: pull access denied, repository does not exist or may require authorization", c.Image), "Failed"},
			{"ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", c.Image), "BackOff"},
		} {
			setContainer(&p.status, init, waiting(c.Name, c.Image, step.reason, step.message))
			p.event(pod, c, init, step.event, step.message)
			if err := p.report(); err != nil {
				return metav1.Time{}, false, err
			}
		}
		return metav1.Time{}, false, nil
	}
	cmd, out, err := p.command(pod, c)
	var cfgErr configError
	switch {
	case errors.As(err, &cfgErr):
		setContainer(&p.status, init, waiting(c.Name, c.Image, "CreateContainerConfigError", cfgErr.msg))
		p.event(pod, c, init, "Failed", "Error: "+cfgErr.msg)
		return metav1.Time{}, false, p.report()
	case err != nil:
		return metav1.Time{}, false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return metav1.Time{}, false, nil
	}
	if err := cmd.Start(); err != nil {
		msg := fmt.Sprintf("failed to start container %q: %v", c.Name, err)
		setContainer(&p.status, init, waiting(c.Name, c.Image, "RunContainerError", msg))
		return metav1.Time{}, false, p.reportLocked()
	}
	p.procs[c.Name], p.out[c.Name] = cmd, out
	started := metav1.Now()
	setContainer(&p.status, init, running(c.Name, c.Image, started))
	return started, true, p.reportLocked()
}

// command prepares the process of container c: its argv and working
// directory with mount paths mapped, its environment resolved.
func (p *podRun) command(pod *corev1.Pod, c corev1.Container) (*exec.Cmd, *output, error) {
	m, err := p.mounts(pod, c)
	if err != nil {
		return nil, nil, err
	}
	env, err := p.env(pod, c)
	if err != nil {
		return nil, nil, err
	}
	vars := map[string]string{}
	for _, e := range env {
		vars[e.name] = e.value
	}
	argv := c.Command
	if len(argv) == 0 {
		argv = p.k.opts.Entrypoints[c.Image]
	}
	if len(argv) == 0 {
		return nil, nil, configErrorf("no command specified: image %q has no entrypoint known to the harness", c.Image)
	}
	argv = append(append([]string(nil), argv...), c.Args...)
	for i := range argv {
		argv[i] = m.path(expand(argv[i], vars))
	}
	dir := filepath.Join(p.dir, "root")
	if c.WorkingDir != "" {
		dir = m.path(c.WorkingDir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string(nil), p.k.opts.Env...)
	for _, e := range env {
		cmd.Env = append(cmd.Env, e.name+"="+m.path(e.value))
	}
	out := &output{}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, to signal everything the container started;
	// gone with the test process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, out, nil
}

// mounts maps the container's volume mounts to directories of the pod;
// only emptyDir volumes exist here.
func (p *podRun) mounts(pod *corev1.Pod, c corev1.Container) (mounts, error) {
	m := mounts{}
	for _, vm := range c.VolumeMounts {
		var vol *corev1.Volume
		for i := range pod.Spec.Volumes {
			if pod.Spec.Volumes[i].Name == vm.Name {
				vol = &pod.Spec.Volumes[i]
			}
		}
		if vol == nil || vol.EmptyDir == nil {
			return nil, configErrorf("volume %q: the harness only provides emptyDir volumes", vm.Name)
		}
		dir := filepath.Join(p.dir, "volumes", vm.Name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, err
		}
		m[vm.MountPath] = dir
	}
	return m, nil
}

type envVar struct{ name, value string }

// env resolves the container's environment as the kubelet does: values
// may refer to earlier variables, secretKeyRef and configMapKeyRef are
// read from the API, fieldRef from the pod.
func (p *podRun) env(pod *corev1.Pod, c corev1.Container) ([]envVar, error) {
	if len(c.EnvFrom) > 0 {
		return nil, configErrorf("envFrom is not supported by the harness")
	}
	vars := map[string]string{}
	var out []envVar
	for _, e := range c.Env {
		value, set, err := p.envValue(pod, e, vars)
		if err != nil {
			return nil, err
		}
		if !set {
			continue
		}
		vars[e.Name] = value
		out = append(out, envVar{e.Name, value})
	}
	return out, nil
}

func (p *podRun) envValue(pod *corev1.Pod, e corev1.EnvVar, vars map[string]string) (string, bool, error) {
	src := e.ValueFrom
	switch {
	case src == nil:
		return expand(e.Value, vars), true, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := p.k.cs.CoreV1().Secrets(pod.Namespace).Get(p.ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && ptrTrue(ref.Optional):
			return "", false, nil
		case apierrors.IsNotFound(err):
			return "", false, configErrorf("secret %q not found", ref.Name)
		case err != nil:
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if ptrTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), true, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := p.k.cs.CoreV1().ConfigMaps(pod.Namespace).Get(p.ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && !ptrTrue(ref.Optional) {
				return "", false, configErrorf("configmap %q not found", ref.Name)
			}
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok && !ptrTrue(ref.Optional) {
			return "", false, configErrorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return v, ok, nil
	case src.FieldRef != nil:
		switch src.FieldRef.FieldPath {
		case "metadata.name":
			return pod.Name, true, nil
		case "metadata.namespace":
			return pod.Namespace, true, nil
		case "metadata.uid":
			return string(pod.UID), true, nil
		case "spec.nodeName":
			return p.k.opts.Node, true, nil
		case "status.podIP", "status.hostIP":
			return "127.0.0.1", true, nil
		}
		return "", false, configErrorf("fieldRef %s is not supported by the harness", src.FieldRef.FieldPath)
	}
	return "", false, configErrorf("env %s: value source not supported by the harness", e.Name)
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// wait waits for container c's process and returns its exit code, with
// the reason and message to report.
func (p *podRun) wait(c corev1.Container) (int32, string, string) {
	p.mu.Lock()
	cmd, out := p.procs[c.Name], p.out[c.Name]
	p.mu.Unlock()
	err := cmd.Wait()
	p.mu.Lock()
	p.exited[c.Name] = true
	p.mu.Unlock()
	code := int32(0)
	if err != nil {
		code = 1
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			ws := exit.Sys().(syscall.WaitStatus)
			switch {
			case ws.Signaled():
				code = 128 + int32(ws.Signal())
			default:
				code = int32(ws.ExitStatus())
			}
		}
	}
	p.mu.Lock()
	f := p.fault
	p.mu.Unlock()
	reason, msg := "", ""
	if f == faultOOM {
		reason = string(faultOOM)
	}
	if code != 0 && c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError {
		msg = out.terminationMessage()
	}
	return code, reason, msg
}

// inflict simulates f: the processes of the pod die by SIGKILL.
func (p *podRun) inflict(f fault) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.procs) == 0 {
		return fmt.Errorf("pod %s/%s runs no container", p.namespace, p.name)
	}
	p.fault = f
	for name, cmd := range p.procs {
		if !p.exited[name] {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	return nil
}

// terminate stops the pod for its deletion: SIGTERM to every process
// group, SIGKILL once grace has passed; no status is written after.
func (p *podRun) terminate(grace time.Duration) {
	p.cancel()
	p.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.signal(syscall.SIGKILL)
		<-p.done
	}
	_ = os.RemoveAll(p.dir)
}

// stop ends the pod at once (the harness stops, or the pod vanished).
func (p *podRun) stop() {
	p.cancel()
	p.signal(syscall.SIGKILL)
	<-p.done
	_ = os.RemoveAll(p.dir)
}

func (p *podRun) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, cmd := range p.procs {
		if !p.exited[name] {
			_ = syscall.Kill(-cmd.Process.Pid, sig)
		}
	}
}

func (p *podRun) logs(container string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o := p.out[container]; o != nil {
		return o.String()
	}
	return ""
}

func (p *podRun) report() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reportLocked()
}

// reportLocked writes the status the harness holds to the pod, unless the
// pod is being torn down or the write would move it backwards.
func (p *podRun) reportLocked() error {
	if p.ctx.Err() != nil {
		return nil
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := p.k.cs.CoreV1().Pods(p.namespace).Get(p.ctx, p.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && pod.UID != p.uid) {
			return nil
		}
		if err != nil {
			return err
		}
		if !sane(pod.Status.Phase, p.status.Phase) {
			return fmt.Errorf("refusing to move pod %s/%s from %s to %s", p.namespace, p.name, pod.Status.Phase, p.status.Phase)
		}
		pod.Status = *p.status.DeepCopy()
		_, err = p.k.cs.CoreV1().Pods(p.namespace).UpdateStatus(p.ctx, pod, metav1.UpdateOptions{})
		return err
	})
}

// event records what the kubelet would tell `kubectl describe`.
func (p *podRun) event(pod *corev1.Pod, c corev1.Container, init bool, reason, message string) {
	field := "spec.containers{" + c.Name + "}"
	if init {
		field = "spec.initContainers{" + c.Name + "}"
	}
	now := metav1.Now()
	_, err := p.k.cs.CoreV1().Events(pod.Namespace).Create(p.ctx, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + ".", Namespace: pod.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace,
			Name: pod.Name, UID: pod.UID, FieldPath: field},
		Reason: reason, Message: message, Type: corev1.EventTypeWarning, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "kubelet", Host: p.k.opts.Node},
	}, metav1.CreateOptions{})
	if err != nil && p.ctx.Err() == nil {
		p.k.opts.Log.V(1).Info("event not recorded", "pod", pod.Name, "err", err.Error())
	}
}
