package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/gateway"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers"
)

// SandboxStore is the part of the run store the sandbox reconciler uses.
type SandboxStore interface {
	Get(ctx context.Context, id string) (runs.Run, error)
	List(ctx context.Context, st runs.State, limit int64) ([]runs.Run, error)
	Update(ctx context.Context, id string, u runs.Update) (runs.Run, error)
	Apply(ctx context.Context, id string, ev runs.Event, u runs.Update) (runs.Run, error)
}

// SandboxOptions configure the sandbox reconciler.
type SandboxOptions struct {
	// Namespace holds the sandbox pods (KUBERNETES_NAMESPACE).
	Namespace string
	// Owner is this replica (POD_NAME, POD_UID): the runs it provisions
	// are the ones it owns, and its pods are owned by it.
	Owner runs.Owner
	// Tokens gives a job's sandbox its credentials for the sandbox API
	// (gateway.Gateway.Tokens), written into its Secret.
	Tokens func(job string) gateway.Tokens
	// APIURL and APICert are the replica's sandbox API as sandboxes reach
	// it (see kube.BuilderParams).
	APIURL  string
	APICert []byte
	// Image is the orchestrator's own image, the agent image's default.
	Image string
	// MaxConcurrentReconciles bounds the runs reconciled at once; default
	// 16. A reconcile mostly waits on Redis and the apiserver, and the
	// benchmark creates pods faster with 16 or 32 workers than with 8.
	MaxConcurrentReconciles int
	// ResyncInterval is how often every run this replica owns is looked
	// at again, to catch what a missed notification left; default 1m.
	ResyncInterval time.Duration
	// Now is the clock of ready deadlines and kept pods' keep-until;
	// default time.Now.
	Now func() time.Time
}

// Event reasons on sandbox pods, for `kubectl describe pod`.
const (
	ReasonSandboxCreated = "SandboxCreated"
	ReasonSandboxReady   = "SandboxReady"
	ReasonSandboxFailed  = "SandboxFailed"
	ReasonSandboxDeleted = "SandboxDeleted"
)

// runIndex indexes the cached sandbox pods by their run label.
const runIndex = "agent-smith.run"

// SandboxReconciler keeps the sandbox pods of the runs this replica owns as
// the run state in Redis says, keyed by run id. Desired pods come from the
// run, actual pods from the label-filtered cache; it creates what is
// missing, deletes what should not exist (pods of runs that ended, are
// parked, are unknown, or moved to another replica) and writes readiness or
// failure back to the run and to the Board the Provisioner waits on.
//
// Run transitions reach it through RunChanges (a channel source, no
// polling of Redis), pod changes through the cache's watch (mapped to run
// ids by label), and a periodic resync catches anything missed.
type SandboxReconciler struct {
	store    SandboxStore
	current  *trackers.Current
	board    *kube.Board
	recorder events.EventRecorder
	builder  *kube.Builder
	opts     SandboxOptions

	changes *RunChanges

	client client.Client
	reader client.Reader
	cache  cache.Cache
	log    logr.Logger
}

// NewSandboxReconciler returns the reconciler; SetupWithManager registers
// it. store's Notify must be changes.Notify.
func NewSandboxReconciler(store SandboxStore, changes *RunChanges, current *trackers.Current, board *kube.Board, recorder events.EventRecorder, opts SandboxOptions) (*SandboxReconciler, error) {
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = 16
	}
	if opts.ResyncInterval <= 0 {
		opts.ResyncInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b, err := kube.NewBuilder(kube.BuilderParams{
		Namespace: opts.Namespace, OwnerName: opts.Owner.Name, OwnerUID: opts.Owner.UID,
		APIURL: opts.APIURL, APICert: opts.APICert, Image: opts.Image,
	})
	if err != nil {
		return nil, err
	}
	if opts.Tokens == nil {
		return nil, errors.New("sandbox reconciler: no token source for the sandboxes' Secrets")
	}
	return &SandboxReconciler{
		store: store, changes: changes, current: current, board: board, recorder: recorder, builder: b, opts: opts,
	}, nil
}

// Reconcile brings the sandbox pods of one run in line with the run.
func (r *SandboxReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	runID := req.Name
	log := logr.FromContextOrDiscard(ctx).WithValues("run", runID)
	ctx = logr.NewContext(ctx, log)

	var run *runs.Run
	got, err := r.store.Get(ctx, runID)
	switch {
	case errors.Is(err, runs.ErrNotFound):
	case err != nil:
		return reconcile.Result{}, fmt.Errorf("read run %s: %w", runID, err)
	default:
		run = &got
	}
	pods := &corev1.PodList{}
	if err := r.client.List(ctx, pods, client.InNamespace(r.opts.Namespace), client.MatchingFields{runIndex: runID}); err != nil {
		return reconcile.Result{}, fmt.Errorf("list sandbox pods of run %s: %w", runID, err)
	}
	snap, _ := r.current.Load()
	sb := snap.Config.SandboxFor(projectOf(run))
	plan := planSandboxes(sandboxState{
		runID: runID, run: run, pods: pods.Items, me: r.opts.Owner,
		now: r.opts.Now(), readyTimeout: sb.ReadyTimeout(), keepFailed: snap.Config.Sandbox.KeepFailedPods(),
	})
	if plan.forget {
		r.board.Forget(runID)
	}
	errs := []error{r.remove(ctx, plan.remove), r.keep(ctx, plan.keep)}
	if run != nil {
		errs = append(errs, r.create(ctx, snap, run, &plan), r.report(ctx, run, plan))
	}
	if err := errors.Join(errs...); err != nil {
		return reconcile.Result{}, err // retried with backoff, sooner than any ready deadline
	}
	return reconcile.Result{RequeueAfter: plan.requeueAfter}, nil
}

func projectOf(run *runs.Run) string {
	if run == nil {
		return ""
	}
	return run.Project
}

// remove deletes pods, each only if it is still the pod that was planned
// for (a pod of the same name created since is left alone), and their
// Secrets.
func (r *SandboxReconciler) remove(ctx context.Context, removals []podRemoval) error {
	var errs []error
	for _, rm := range removals {
		errs = append(errs, r.deleteSecret(ctx, rm.pod.Annotations[kube.AnnotationJob]))
		err := r.client.Delete(ctx, rm.pod, client.Preconditions{UID: &rm.pod.UID})
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("delete pod %s: %w", rm.pod.Name, err))
			continue
		}
		logr.FromContextOrDiscard(ctx).Info("deleted sandbox pod", "pod", rm.pod.Name, "reason", rm.reason)
		r.recorder.Eventf(rm.pod, nil, corev1.EventTypeNormal, ReasonSandboxDeleted, "Delete", "%s", rm.reason)
	}
	return errors.Join(errs...)
}

// keep marks the pods of a failed run as kept for inspection.
func (r *SandboxReconciler) keep(ctx context.Context, keeps []podKeep) error {
	var errs []error
	for _, k := range keeps {
		marked, err := markKept(ctx, r.client, r.recorder, k.pod, k.until)
		errs = append(errs, err)
		if marked {
			logr.FromContextOrDiscard(ctx).Info("kept sandbox pod of the failed run for inspection", "pod", k.pod.Name,
				"until", k.until.UTC().Format(time.RFC3339))
		}
	}
	return errors.Join(errs...)
}

// create creates the missing pods. A pod the configuration cannot produce
// fails the run. A pod of the same name that is not this attempt's (another
// replica's, or an older attempt's) is deleted; its deletion brings the run
// back here.
func (r *SandboxReconciler) create(ctx context.Context, snap *trackers.Snapshot, run *runs.Run, plan *sandboxPlan) error {
	log := logr.FromContextOrDiscard(ctx)
	var errs []error
	for _, repo := range plan.create {
		spec := kube.Spec{RunID: run.ID, Attempt: run.Attempt, Fence: run.Fence, Project: run.Project, Repo: repo,
			Branch: runs.BranchFor(run.Ticket)}
		pod, err := r.builder.Pod(snap.Config, spec)
		if err != nil {
			plan.failed = append(plan.failed, sandboxReport{repo: repo, job: spec.JobID(), reason: err.Error(), record: true})
			plan.failRun = joinReasons(plan.failRun, err.Error())
			continue
		}
		if err := r.createSecret(ctx, spec); err != nil {
			errs = append(errs, err)
			continue
		}
		err = r.client.Create(ctx, pod)
		switch {
		case err == nil:
			log.Info("created sandbox pod", "pod", pod.Name, "repo", repo, "job", spec.JobID(), "image", pod.Spec.Containers[0].Image)
			r.recorder.Eventf(pod, nil, corev1.EventTypeNormal, ReasonSandboxCreated, "Create",
				"sandbox of repository %s for job %s, image %s", repo, spec.JobID(), pod.Spec.Containers[0].Image)
		case apierrors.IsAlreadyExists(err):
			taken, err := r.claimName(ctx, pod)
			errs = append(errs, err)
			if taken != "" {
				errs = append(errs, r.deleteSecret(ctx, spec.JobID()))
				plan.failed = append(plan.failed, sandboxReport{repo: repo, job: spec.JobID(), reason: taken, record: true})
				plan.failRun = joinReasons(plan.failRun, fmt.Sprintf("sandbox of repo %s: %s", repo, taken))
			}
		default:
			errs = append(errs, fmt.Errorf("create pod %s: %w", pod.Name, err))
		}
	}
	return errors.Join(errs...)
}

// claimName handles a create that found the name taken. The cache may lag
// behind this replica's own create; a sandbox pod of another replica or of
// an older attempt goes (its deletion brings the run back here). A pod
// agent-smith does not manage is left alone, and taken says the sandbox
// cannot be made.
func (r *SandboxReconciler) claimName(ctx context.Context, want *corev1.Pod) (taken string, err error) {
	have := &corev1.Pod{}
	err = r.reader.Get(ctx, client.ObjectKeyFromObject(want), have)
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("pod %s: gone between create and read, trying again", want.Name)
	case err != nil:
		return "", fmt.Errorf("read pod %s: %w", want.Name, err)
	case have.Labels[kube.LabelManagedBy] != kube.AppName || have.Labels[kube.LabelComponent] != kube.ComponentSandbox:
		return fmt.Sprintf("pod name %s is taken by a pod agent-smith does not manage", want.Name), nil
	case kube.OwnedBy(have, r.opts.Owner.Name, r.opts.Owner.UID) && have.Annotations[kube.AnnotationJob] == want.Annotations[kube.AnnotationJob]:
		return "", nil // ours: the cache has not seen it yet
	case have.DeletionTimestamp != nil:
		return "", nil // its deletion brings us back
	}
	return "", r.remove(ctx, []podRemoval{{have, fmt.Sprintf("its name is needed for job %s (it was job %s of replica %s)",
		want.Annotations[kube.AnnotationJob], have.Annotations[kube.AnnotationJob], have.Labels[kube.LabelOwner])}})
}

// report writes what the plan found to the run (once per change), the
// pods' events and the Board, and fails the run if a sandbox cannot serve
// it.
func (r *SandboxReconciler) report(ctx context.Context, run *runs.Run, plan sandboxPlan) error {
	log := logr.FromContextOrDiscard(ctx)
	record := map[string]runs.SandboxStatus{}
	for _, rep := range plan.ready {
		r.board.Ready(run.ID, rep.job)
		if rep.record {
			record[rep.repo] = runs.SandboxStatus{Attempt: run.Attempt, Fence: run.Fence, Phase: runs.SandboxReady}
			log.Info("sandbox ready", "repo", rep.repo, "job", rep.job, "pod", rep.pod.Name)
			r.recorder.Eventf(rep.pod, nil, corev1.EventTypeNormal, ReasonSandboxReady, "Start", "agent of job %s is running", rep.job)
		}
	}
	for _, rep := range plan.failed {
		reason := rep.reason
		if rep.record && rep.pod != nil {
			reason += r.warnings(ctx, rep.pod)
		}
		r.board.Failed(run.ID, rep.job, reason)
		if rep.record {
			record[rep.repo] = runs.SandboxStatus{Attempt: run.Attempt, Fence: run.Fence, Phase: runs.SandboxFailed, Reason: reason}
			log.Info("sandbox failed", "repo", rep.repo, "job", rep.job, "reason", reason)
			if rep.pod != nil {
				r.recorder.Eventf(rep.pod, nil, corev1.EventTypeWarning, ReasonSandboxFailed, "Diagnose", "%s", reason)
			}
		}
	}
	var errs []error
	if len(record) > 0 {
		if _, err := r.store.Update(ctx, run.ID, runs.Update{Fence: run.Fence, Sandboxes: record}); err != nil && !gone(err) {
			errs = append(errs, fmt.Errorf("record sandboxes of run %s: %w", run.ID, err))
		}
	}
	if plan.failRun != "" {
		_, err := r.store.Apply(ctx, run.ID, runs.EventFail, runs.Update{Fence: run.Fence, Error: plan.failRun})
		switch {
		case err == nil:
			log.Info("failed the run: a sandbox cannot serve it", "reason", plan.failRun)
		case !gone(err) && !errors.Is(err, runs.ErrIllegalTransition):
			errs = append(errs, fmt.Errorf("fail run %s: %w", run.ID, err))
		}
	}
	return errors.Join(errs...)
}

// gone: the run moved on (another attempt) or disappeared; what this
// reconcile knew of it no longer matters.
func gone(err error) bool {
	return errors.Is(err, runs.ErrLeaseLost) || errors.Is(err, runs.ErrNotFound)
}

// warnings are the pod's latest warning events (the kubelet's pull and
// start errors), for the diagnostic of a failure.
func (r *SandboxReconciler) warnings(ctx context.Context, pod *corev1.Pod) string {
	list := &corev1.EventList{}
	if err := r.reader.List(ctx, list, client.InNamespace(pod.Namespace), client.MatchingFields{"involvedObject.uid": string(pod.UID)}); err != nil {
		logr.FromContextOrDiscard(ctx).V(1).Info("no events for the diagnostic", "pod", pod.Name, "err", err.Error())
		return ""
	}
	// Oldest first, so the last lines quoted are the latest.
	slices.SortStableFunc(list.Items, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	var seen []string
	for _, ev := range list.Items {
		if ev.Type != corev1.EventTypeWarning || ev.Reason == ReasonSandboxFailed {
			continue
		}
		line := ev.Reason + ": " + clip(ev.Message)
		if !slices.Contains(seen, line) {
			seen = append(seen, line)
		}
	}
	if len(seen) > 3 {
		seen = seen[len(seen)-3:]
	}
	if len(seen) == 0 {
		return ""
	}
	return " (events: " + strings.Join(seen, "; ") + ")"
}

func eventTime(ev corev1.Event) time.Time {
	t := ev.LastTimestamp.Time
	if ev.EventTime.After(t) {
		t = ev.EventTime.Time
	}
	if t.IsZero() {
		t = ev.CreationTimestamp.Time
	}
	return t
}

func joinReasons(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// SetupWithManager registers the reconciler with mgr: its watches, its
// channel of run changes and its periodic resync.
func (r *SandboxReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.client, r.reader, r.cache = mgr.GetClient(), mgr.GetAPIReader(), mgr.GetCache()
	r.log = mgr.GetLogger().WithName("sandbox")
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, runIndex, func(o client.Object) []string {
		if id := o.GetLabels()[kube.LabelRun]; id != "" {
			return []string{id}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index sandbox pods by run: %w", err)
	}
	return r.watch(ctrl.NewControllerManagedBy(mgr)).Complete(r)
}
