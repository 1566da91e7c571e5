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
	"k8s.io/utils/ptr"
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
	// mainDone is set once the main containers have all exited: native
	// sidecars are then stopped, not restarted.
	mainDone bool
	restarts map[string]int32
	// sidecarDone is closed when a native sidecar's supervision ends.
	sidecarDone map[string]chan struct{}
}

func newPodRun(k *Kubelet, pod *corev1.Pod) *podRun {
	ctx, cancel := context.WithCancel(k.ctx)
	return &podRun{k: k, namespace: pod.Namespace, name: pod.Name, uid: pod.UID, dir: k.podDir(pod),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		procs: map[string]*exec.Cmd{}, out: map[string]*output{}, exited: map[string]bool{}, restarts: map[string]int32{},
		sidecarDone: map[string]chan struct{}{}}
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
// is going away. A native sidecar (an init container with restartPolicy
// Always) is started, not waited for: it runs beside what follows, is
// restarted when it exits, and is stopped once the containers have exited.
func (p *podRun) lifecycle(pod *corev1.Pod) error {
	p.status = pendingStatus(pod)
	if err := p.prepareVolumes(pod); err != nil {
		return err
	}
	if err := p.report(); err != nil {
		return err
	}
	var sidecars []corev1.Container
	var supervised sync.WaitGroup
	defer supervised.Wait()
	for _, c := range pod.Spec.InitContainers {
		started, ok, err := p.launch(pod, c, true)
		if err != nil || !ok {
			return err
		}
		if sidecar(c) {
			sidecars = append(sidecars, c)
			done := make(chan struct{})
			p.mu.Lock()
			p.sidecarDone[c.Name] = done
			p.mu.Unlock()
			supervised.Go(func() { defer close(done); p.supervise(pod, c) })
			continue
		}
		code, reason, msg := p.wait(c)
		p.mu.Lock()
		setContainer(&p.status, true, terminated(c.Name, c.Image, started, code, reason, msg))
		p.mu.Unlock()
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
	p.mu.Lock()
	setCondition(&p.status, corev1.PodInitialized, corev1.ConditionTrue, "")
	p.mu.Unlock()
	phase, err := p.runContainers(pod)
	if err != nil || p.ctx.Err() != nil {
		return err
	}
	p.stopSidecars(sidecars)
	return p.finish(pod, phase)
}

// runContainers starts the pod's containers and waits for them all; the
// phase is what their exit codes make it.
func (p *podRun) runContainers(pod *corev1.Pod) (corev1.PodPhase, error) {
	starts := map[string]metav1.Time{}
	for _, c := range pod.Spec.Containers {
		started, ok, err := p.launch(pod, c, false)
		if err != nil || !ok {
			return "", err
		}
		starts[c.Name] = started
	}
	p.mu.Lock()
	p.status.Phase = corev1.PodRunning
	setCondition(&p.status, corev1.ContainersReady, corev1.ConditionTrue, "")
	setCondition(&p.status, corev1.PodReady, corev1.ConditionTrue, "")
	err := p.reportLocked()
	p.mu.Unlock()
	if err != nil {
		return "", err
	}
	phase := corev1.PodSucceeded
	for _, c := range pod.Spec.Containers {
		code, reason, msg := p.wait(c)
		p.mu.Lock()
		setContainer(&p.status, false, terminated(c.Name, c.Image, starts[c.Name], code, reason, msg))
		p.mu.Unlock()
		if code != 0 {
			phase = corev1.PodFailed
		}
	}
	return phase, nil
}

func sidecar(c corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// supervise waits for a native sidecar and restarts it, with a backoff,
// each time it exits while the pod's containers run.
func (p *podRun) supervise(pod *corev1.Pod, c corev1.Container) {
	backoff := 10 * time.Millisecond
	for {
		p.wait(c)
		p.mu.Lock()
		stop := p.mainDone || p.ctx.Err() != nil
		p.mu.Unlock()
		if stop {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
			return
		}
		backoff = min(2*backoff, time.Second)
		p.mu.Lock()
		p.restarts[c.Name]++
		p.mu.Unlock()
		if _, ok, err := p.launch(pod, c, true); err != nil || !ok {
			return
		}
	}
}

// stopSidecars ends the native sidecars, the last started first, as the
// kubelet does once the main containers have exited: SIGTERM, then the
// grace period, then SIGKILL.
func (p *podRun) stopSidecars(sidecars []corev1.Container) {
	p.mu.Lock()
	p.mainDone = true
	p.mu.Unlock()
	for i := len(sidecars) - 1; i >= 0; i-- {
		c := sidecars[i]
		p.mu.Lock()
		cmd, exited, done := p.procs[c.Name], p.exited[c.Name], p.sidecarDone[c.Name]
		p.mu.Unlock()
		if !exited {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		}
		grace := time.NewTimer(30 * time.Second)
		select {
		case <-done:
		case <-grace.C:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		grace.Stop()
	}
}

// finish reports the pod's final phase.
func (p *podRun) finish(pod *corev1.Pod, phase corev1.PodPhase) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status.Phase = phase
	setCondition(&p.status, corev1.ContainersReady, corev1.ConditionFalse, "PodCompleted")
	setCondition(&p.status, corev1.PodReady, corev1.ConditionFalse, "PodCompleted")
	if p.fault == faultEvicted {
		p.status.Phase = corev1.PodFailed
		p.status.Reason = "Evicted"
		p.status.Message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi. "
	}
	return p.reportLocked()
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
			// The event first: whoever reacts to the status finds it.
			p.event(pod, c, init, step.event, step.message)
			p.mu.Lock()
			setContainer(&p.status, init, waiting(c.Name, c.Image, step.reason, step.message))
			err := p.reportLocked()
			p.mu.Unlock()
			if err != nil {
				return metav1.Time{}, false, err
			}
		}
		return metav1.Time{}, false, nil
	}
	cmd, out, err := p.command(pod, c)
	var cfgErr configError
	switch {
	case errors.As(err, &cfgErr):
		p.event(pod, c, init, "Failed", "Error: "+cfgErr.msg)
		p.mu.Lock()
		defer p.mu.Unlock()
		setContainer(&p.status, init, waiting(c.Name, c.Image, "CreateContainerConfigError", cfgErr.msg))
		return metav1.Time{}, false, p.reportLocked()
	case err != nil:
		return metav1.Time{}, false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil || (init && p.mainDone) {
		return metav1.Time{}, false, nil // going away, or a sidecar no longer wanted
	}
	if err := cmd.Start(); err != nil {
		msg := fmt.Sprintf("failed to start container %q: %v", c.Name, err)
		setContainer(&p.status, init, waiting(c.Name, c.Image, "RunContainerError", msg))
		return metav1.Time{}, false, p.reportLocked()
	}
	p.procs[c.Name], p.out[c.Name], p.exited[c.Name] = cmd, out, false
	started := metav1.Now()
	cs := running(c.Name, c.Image, started)
	cs.RestartCount = p.restarts[c.Name]
	setContainer(&p.status, init, cs)
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
	if p.k.asPodUsers() {
		cmd.SysProcAttr.Credential = credential(pod, c)
	}
	return cmd, out, nil
}

// credential is the uid, gid and supplementary group (the pod's fsGroup)
// container c runs as: its own security context's, else the pod's, else
// root.
func credential(pod *corev1.Pod, c corev1.Container) *syscall.Credential {
	var uid, gid *int64
	if psc := pod.Spec.SecurityContext; psc != nil {
		uid, gid = psc.RunAsUser, psc.RunAsGroup
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	cred := &syscall.Credential{Uid: uint32(ptr.Deref(uid, 0)), Gid: uint32(ptr.Deref(gid, ptr.Deref(uid, 0)))}
	if psc := pod.Spec.SecurityContext; psc != nil && psc.FSGroup != nil {
		cred.Groups = []uint32{uint32(*psc.FSGroup)}
	}
	return cred
}

// volumeDir is the directory of the pod's volume name.
func (p *podRun) volumeDir(name string) string { return filepath.Join(p.dir, "volumes", name) }

// prepareVolumes makes the pod's volume directories, world-writable as a
// kubelet makes emptyDirs. Running as the pods' users, a volume that a
// container mounts read-only is owned instead by the one container user
// that mounts it read-write, with mode 2755: other users read it, which is
// what a read-only bind mount lets them do.
func (p *podRun) prepareVolumes(pod *corev1.Pod) error {
	writers := map[string]map[uint32]bool{}
	readOnly := map[string]bool{}
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, vm := range c.VolumeMounts {
			if vm.ReadOnly {
				readOnly[vm.Name] = true
				continue
			}
			if writers[vm.Name] == nil {
				writers[vm.Name] = map[uint32]bool{}
			}
			writers[vm.Name][credential(pod, c).Uid] = true
		}
	}
	for _, v := range pod.Spec.Volumes {
		dir := p.volumeDir(v.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if !p.k.asPodUsers() || !readOnly[v.Name] || len(writers[v.Name]) != 1 {
			if err := os.Chmod(dir, 0o777); err != nil {
				return err
			}
			continue
		}
		for uid := range writers[v.Name] {
			if err := os.Chown(dir, int(uid), -1); err != nil {
				return err
			}
		}
		if err := os.Chmod(dir, 0o755|os.ModeSetgid); err != nil {
			return err
		}
	}
	return nil
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
		m[vm.MountPath] = p.volumeDir(vm.Name)
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
