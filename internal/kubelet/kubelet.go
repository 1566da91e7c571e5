package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/agent-smith/agent-smith/sandbox/kube"
)

// Options configure a Kubelet.
type Options struct {
	// Namespace limits the kubelet to the pods of one namespace; "" serves
	// every namespace.
	Namespace string
	// Selector picks the pods it runs; default the sandbox labels
	// (component=sandbox, managed-by=agent-smith).
	Selector labels.Selector
	// Entrypoints maps an image to the local command its ENTRYPOINT
	// stands for, for containers that set no command (the agent image's
	// init container runs `inject …` that way).
	Entrypoints map[string][]string
	// Env is the environment every container process starts with, like
	// the ENV of an image, before the container's own; default PATH.
	Env []string
	// Dir holds the pods' volumes; default a temporary directory that Stop
	// removes.
	Dir string
	// Node is the name pods are bound to; default "envtest-kubelet".
	Node string
	// RunAsPodUsers runs each container's processes as its security
	// context's uid and gid, with the pod's fsGroup, when the harness
	// runs as root (else it has no say): what a test of the separation of
	// a pod's containers needs.
	RunAsPodUsers bool
	Log           logr.Logger
}

// Kubelet runs sandbox pods as local processes. Start it, and Stop it at
// the end of the test.
type Kubelet struct {
	cs       kubernetes.Interface
	opts     Options
	ownDir   bool
	informer cache.SharedIndexInformer
	queue    workqueue.TypedRateLimitingInterface[string]
	ctx      context.Context
	cancel   context.CancelFunc
	workers  sync.WaitGroup

	mu           sync.Mutex
	pods         map[string]*podRun // by namespace/name
	pullFailures map[string]bool
}

// Start connects to the apiserver of cfg and begins serving pods; it
// returns once it has seen the pods that exist.
func Start(cfg *rest.Config, opts Options) (*Kubelet, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubelet client: %w", err)
	}
	if opts.Selector == nil {
		opts.Selector = labels.SelectorFromSet(labels.Set{kube.LabelComponent: kube.ComponentSandbox, kube.LabelManagedBy: kube.AppName})
	}
	if opts.Env == nil {
		opts.Env = []string{"PATH=" + os.Getenv("PATH")}
	}
	if opts.Node == "" {
		opts.Node = "envtest-kubelet"
	}
	k := &Kubelet{cs: cs, opts: opts, pods: map[string]*podRun{}, pullFailures: map[string]bool{}}
	if opts.Dir == "" {
		if k.opts.Dir, err = os.MkdirTemp("", "envtest-kubelet-"); err != nil {
			return nil, err
		}
		k.ownDir = true
	}
	if k.asPodUsers() {
		// The pods' users walk through it to their volumes.
		if err := os.Chmod(k.opts.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0,
		informers.WithNamespace(opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = opts.Selector.String() }))
	k.informer = factory.Core().V1().Pods().Informer()
	k.queue = workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](10*time.Millisecond, time.Second))
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	if _, err := k.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, err
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	factory.Start(k.ctx.Done())
	if !cache.WaitForCacheSync(k.ctx.Done(), k.informer.HasSynced) {
		k.cancel()
		return nil, errors.New("kubelet: pod informer did not sync")
	}
	for range 4 {
		k.workers.Go(k.work)
	}
	return k, nil
}

// Stop kills every process the kubelet started and stops serving. Pods keep
// the status they last had.
func (k *Kubelet) Stop() {
	k.cancel()
	k.queue.ShutDown()
	k.workers.Wait()
	k.mu.Lock()
	pods := k.pods
	k.pods = map[string]*podRun{}
	k.mu.Unlock()
	for _, pr := range pods {
		pr.stop()
	}
	if k.ownDir {
		_ = os.RemoveAll(k.opts.Dir)
	}
}

// FailPulls makes every later pull of image fail, as an unknown image or
// a registry that refuses the node would: ErrImagePull, then
// ImagePullBackOff.
func (k *Kubelet) FailPulls(image string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pullFailures[image] = true
}

// OOMKill kills the running containers of pod namespace/name as the kernel's
// OOM killer would: exit code 137, reason OOMKilled.
func (k *Kubelet) OOMKill(namespace, name string) error {
	return k.fault(namespace, name, faultOOM)
}

// Evict evicts pod namespace/name for memory pressure: its processes are
// killed and it fails with reason Evicted.
func (k *Kubelet) Evict(namespace, name string) error {
	return k.fault(namespace, name, faultEvicted)
}

// Logs is the tail of what container of pod namespace/name wrote.
func (k *Kubelet) Logs(namespace, name, container string) string {
	k.mu.Lock()
	pr := k.pods[namespace+"/"+name]
	k.mu.Unlock()
	if pr == nil {
		return ""
	}
	return pr.logs(container)
}

func (k *Kubelet) fault(namespace, name string, f fault) error {
	k.mu.Lock()
	pr := k.pods[namespace+"/"+name]
	k.mu.Unlock()
	if pr == nil {
		return fmt.Errorf("kubelet runs no pod %s/%s", namespace, name)
	}
	return pr.inflict(f)
}

func (k *Kubelet) pullFails(image string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pullFailures[image]
}

func (k *Kubelet) work() {
	for {
		key, quit := k.queue.Get()
		if quit {
			return
		}
		if err := k.sync(key); err != nil && k.ctx.Err() == nil {
			k.opts.Log.V(1).Info("sync failed, retrying", "pod", key, "err", err.Error())
			k.queue.AddRateLimited(key)
		} else {
			k.queue.Forget(key)
		}
		k.queue.Done(key)
	}
}

// sync brings the pod of key one step further: bind it, start it, or
// finish its deletion.
func (k *Kubelet) sync(key string) error {
	obj, exists, err := k.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	k.mu.Lock()
	pr := k.pods[key]
	if pr != nil && (!exists || pr.uid != obj.(*corev1.Pod).UID) {
		delete(k.pods, key) // gone, or replaced by a new pod of the same name
		k.mu.Unlock()
		pr.stop()
		k.mu.Lock()
		pr = nil
	}
	k.mu.Unlock()
	if !exists {
		return nil
	}
	pod := obj.(*corev1.Pod)
	switch {
	case pod.DeletionTimestamp != nil:
		if pod.Spec.NodeName == "" {
			return nil // the apiserver deletes unbound pods itself
		}
		return k.finishDeletion(pod, pr)
	case pod.Spec.NodeName == "":
		// No scheduler on envtest: bind as one would.
		err := k.cs.CoreV1().Pods(pod.Namespace).Bind(k.ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: k.opts.Node},
		}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // deleted, or bound meanwhile: an event follows
		}
		return err
	case pr == nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed:
		pr = newPodRun(k, pod)
		k.mu.Lock()
		k.pods[key] = pr
		k.mu.Unlock()
		pr.start(pod)
	}
	return nil
}

// finishDeletion stops the pod's processes within its grace period and
// removes the pod, as the kubelet does once its containers are gone.
func (k *Kubelet) finishDeletion(pod *corev1.Pod, pr *podRun) error {
	if pr != nil {
		grace := 30 * time.Second
		if pod.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		pr.terminate(grace)
	}
	err := k.cs.CoreV1().Pods(pod.Namespace).Delete(k.ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

// asPodUsers: containers run as their pods' users.
func (k *Kubelet) asPodUsers() bool { return k.opts.RunAsPodUsers && os.Geteuid() == 0 }

// podDir is where the volumes of pod live.
func (k *Kubelet) podDir(pod *corev1.Pod) string {
	return filepath.Join(k.opts.Dir, pod.Namespace+"_"+pod.Name+"_"+string(pod.UID))
}
