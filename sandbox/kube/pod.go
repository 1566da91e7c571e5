package kube

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/sandbox"
)

// Paths inside the sandbox pod.
const (
	sharedDir = "/shared"
	agentPath = sharedDir + "/agent"
	workDir   = "/work"
	// homeDir is $HOME: a volume of its own, because the repository is
	// checked out at the root of the work volume, and caches written under
	// $HOME (.cache, .npm, .m2) must not end up in the pull request.
	homeDir = "/home/agent-smith"
	// gitDir is the gate's: its bare repository, which the toolchain reads
	// (read-only, at the same path) as its checkout's alternates.
	gitDir = "/var/lib/agent-smith/git"
)

// Container names.
const (
	InitContainer = "inject"
	// GateContainer is the git gate, a native sidecar: an init container
	// that keeps running beside the toolchain.
	GateContainer = "gate"
	MainContainer = "toolchain"
)

// Environment variables of the agent and the gate.
const (
	envAPIURL = "SANDBOX_API_URL"
	envAPICA  = "SANDBOX_API_CA"
	envToken  = "SANDBOX_TOKEN"
	envJobID  = "JOB_ID"
)

// sharedSizeLimit bounds the volume that only carries the agent binary.
var sharedSizeLimit = resource.MustParse("256Mi")

// injectResources are the init container's: it only copies a file. It
// gets requests and no CPU limit, because a CPU-limited copy step made a
// peer's pods several times slower to start (tektoncd/pipeline#10152).
var injectResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("10m"),
		corev1.ResourceMemory: resource.MustParse("32Mi"),
	},
	Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
}

// gateResources are the gate's: git fetches and pushes, mostly waiting on
// the network. No CPU limit, like the init container.
var gateResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("50m"),
		corev1.ResourceMemory:           resource.MustParse("128Mi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("64Mi"),
	},
	Limits: corev1.ResourceList{
		corev1.ResourceMemory:           resource.MustParse("1Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("256Mi"),
	},
}

// Builder makes sandbox pods and their Secrets. Its fields are the same
// for every pod an orchestrator replica creates; Pod adds what the run and
// the config say.
type Builder struct {
	namespace string
	ownerName string
	ownerUID  string
	apiURL    string
	apiCert   string
	image     string
}

// BuilderParams configure a Builder.
type BuilderParams struct {
	// Namespace the pods live in (KUBERNETES_NAMESPACE).
	Namespace string
	// OwnerName and OwnerUID identify the orchestrator pod (POD_NAME,
	// POD_UID from the downward API): the pods' owner, so the garbage
	// collector deletes them when that replica's pod goes.
	OwnerName string
	OwnerUID  string
	// APIURL is the replica's sandbox API as the sandboxes reach it
	// (https://POD_IP:8443), APICert its certificate, which they pin.
	APIURL  string
	APICert []byte
	// Image is the orchestrator's own image (REPO:TAG): sandboxes inject
	// the agent from it unless the sandbox config names another.
	Image string
}

// NewBuilder checks p and returns a Builder.
func NewBuilder(p BuilderParams) (*Builder, error) {
	var errs []error
	if p.Namespace == "" {
		errs = append(errs, errors.New("no namespace (KUBERNETES_NAMESPACE)"))
	}
	if p.OwnerName == "" || p.OwnerUID == "" {
		errs = append(errs, errors.New("no owner pod name and uid (POD_NAME, POD_UID)"))
	}
	if p.Image == "" {
		errs = append(errs, errors.New("no orchestrator image"))
	}
	if u, err := url.Parse(p.APIURL); err != nil || u.Scheme != "https" || u.Host == "" || len(p.APICert) == 0 {
		errs = append(errs, fmt.Errorf("the sandbox API %q is not an https URL with a certificate", p.APIURL))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sandbox pod builder: %w", errors.Join(errs...))
	}
	return &Builder{namespace: p.Namespace, ownerName: p.OwnerName, ownerUID: p.OwnerUID,
		apiURL: p.APIURL, apiCert: string(p.APICert), image: p.Image}, nil
}

// Spec is one sandbox: a repository of one start (attempt and fence) of a
// run.
type Spec struct {
	RunID   string
	Attempt int
	Fence   int64
	Project string
	Repo    string
	// Branch is the run's branch (runs.BranchFor): the gate pushes it and
	// its -wip twin, nothing else.
	Branch string
}

// JobID is the sandbox's job id: the agent's and the gate's --job-id.
func (s Spec) JobID() string { return sandbox.JobID(s.RunID, s.Repo, s.Attempt, s.Fence) }

// podParts are what Pod assembles the pod from.
type podParts struct {
	sb        config.Sandbox
	repo      *config.Repo
	image     string
	ephemeral resource.Quantity
	container *corev1.SecurityContext
}

// Pod returns the sandbox pod of s as cfg describes it: the agent's
// injection, the git gate beside the toolchain, and the toolchain. It
// fails when cfg cannot produce a pod (an unknown repository, an
// unparsable resource quantity, a remote the gate cannot use).
func (b *Builder) Pod(cfg *config.Config, s Spec) (*corev1.Pod, error) {
	fail := func(err error) (*corev1.Pod, error) {
		return nil, fmt.Errorf("sandbox pod for repo %s of run %s: %w", s.Repo, s.RunID, err)
	}
	if !usableRunID(s.RunID) || s.Attempt < 1 || s.Branch == "" {
		return fail(fmt.Errorf("run id %q, attempt %d or branch %q unusable in a pod", s.RunID, s.Attempt, s.Branch))
	}
	repo, ok := cfg.Repos[s.Repo]
	if !ok {
		return fail(errors.New("the repository is not in the configuration"))
	}
	// The pod exists before the checkout, so the image comes from the
	// configuration alone (repos.x.language, not detection).
	pp := podParts{sb: cfg.SandboxFor(s.Project), repo: repo, image: cfg.ToolchainImage(s.Project, s.Repo)}
	resources, err := mainResources(pp.sb.Resources)
	if err != nil {
		return fail(err)
	}
	pp.ephemeral = resources.Limits[corev1.ResourceEphemeralStorage]
	gate, err := b.gate(cfg, s, pp)
	if err != nil {
		return fail(err)
	}
	podSecurity, containerSecurity := securityContexts(pp.sb)
	pp.container = containerSecurity
	var runtimeClass *string
	if pp.sb.RuntimeClassName != "" {
		runtimeClass = ptr.To(pp.sb.RuntimeClassName)
	}
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: b.objectMeta(s),
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr.To(false),
			// Service env vars would only add noise (and hints) to the
			// environment the model's commands see.
			EnableServiceLinks: ptr.To(false),
			// The gate's processes stay invisible to the toolchain's.
			ShareProcessNamespace: ptr.To(false),
			RuntimeClassName:      runtimeClass,
			SecurityContext:       podSecurity,
			InitContainers: []corev1.Container{{
				Name:                     InitContainer,
				Image:                    pp.sb.ResolveAgentImage(b.image),
				Args:                     []string{"inject", agentPath},
				Resources:                injectResources,
				SecurityContext:          containerSecurity,
				VolumeMounts:             []corev1.VolumeMount{{Name: "shared", MountPath: sharedDir}},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}, gate},
			Containers: []corev1.Container{b.toolchain(s, pp, resources)},
			Volumes:    volumes(pp.ephemeral),
		},
	}, nil
}

// objectMeta names the pod (and its Secret): labels, the job, and the
// orchestrator pod that owns it.
func (b *Builder) objectMeta(s Spec) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:        PodName(s.RunID, s.Fence, s.Repo),
		Namespace:   b.namespace,
		Labels:      b.labels(s),
		Annotations: map[string]string{AnnotationJob: s.JobID()},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "Pod", Name: b.ownerName, UID: types.UID(b.ownerUID),
			// A pod is not a controller of another pod: nothing
			// reconciles the sandbox on the owner's behalf, and drain
			// tooling must not treat it as replicated.
			Controller: ptr.To(false),
			// Deleting the orchestrator pod must never wait on its
			// sandboxes.
			BlockOwnerDeletion: ptr.To(false),
		}},
	}
}

// gate is the git gate: a native sidecar (an init container that keeps
// running) from the toolchain image, for its git, running the injected
// agent-smith under a uid of its own. It alone gets the git credential,
// step by step, and writes the git volume; it reads the workspace.
func (b *Builder) gate(cfg *config.Config, s Spec, pp podParts) (corev1.Container, error) {
	remote, err := remoteURL(pp.repo.URL)
	if err != nil {
		return corev1.Container{}, err
	}
	args := []string{"sandbox-gate", "--job-id", s.JobID(), "--remote", remote, "--branch", s.Branch,
		"--git-dir", gitDir, "--work-root", workDir}
	if !pp.ephemeral.IsZero() {
		args = append(args, "--max-bundle-bytes", strconv.FormatInt(pp.ephemeral.Value(), 10))
	}
	if p := cfg.Projects[s.Project]; p != nil && p.AllowCIConfigChanges {
		args = append(args, "--allow-ci-config-changes")
	}
	return corev1.Container{
		Name:          GateContainer,
		Image:         pp.image,
		RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
		Command:       []string{agentPath},
		Args:          args,
		Env:           b.apiEnv(s, SecretGateToken),
		Resources:     gateResources,
		SecurityContext: &corev1.SecurityContext{
			RunAsUser: ptr.To[int64](config.GateUID), RunAsGroup: ptr.To[int64](config.GateUID), RunAsNonRoot: ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "shared", MountPath: sharedDir, ReadOnly: true},
			{Name: "git", MountPath: gitDir},
			{Name: "work", MountPath: workDir, ReadOnly: true},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}, nil
}

// toolchain is the main container: the agent as PID 1 and the steps.
func (b *Builder) toolchain(s Spec, pp podParts, resources corev1.ResourceRequirements) corev1.Container {
	args := []string{"sandbox-agent", "--job-id", s.JobID()}
	if pp.sb.IdleTimeoutSeconds > 0 {
		args = append(args, "--idle-timeout", pp.sb.IdleTimeout().String())
	}
	env := append(b.apiEnv(s, SecretAgentToken),
		// The toolchain image may have no home for a non-root uid.
		corev1.EnvVar{Name: "HOME", Value: homeDir})
	return corev1.Container{
		Name:            MainContainer,
		Image:           pp.image,
		Command:         []string{agentPath},
		Args:            args,
		WorkingDir:      workDir,
		Env:             env,
		Resources:       resources,
		SecurityContext: pp.container,
		VolumeMounts: []corev1.VolumeMount{
			// Steps must not replace the agent that runs them, nor write
			// the gate's repository.
			{Name: "shared", MountPath: sharedDir, ReadOnly: true},
			{Name: "work", MountPath: workDir},
			{Name: "home", MountPath: homeDir},
			{Name: "git", MountPath: gitDir, ReadOnly: true},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

// apiEnv is how the agent or the gate reaches the sandbox API: its URL and
// certificate (public), and its own token, a reference into the pod's
// Secret resolved by the kubelet: the value is in neither the pod spec nor
// Redis.
func (b *Builder) apiEnv(s Spec, tokenKey string) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: envAPIURL, Value: b.apiURL},
		{Name: envAPICA, Value: b.apiCert},
		{Name: envJobID, Value: s.JobID()},
		{Name: envToken, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: SecretName(s.JobID())}, Key: tokenKey,
		}}},
	}
}

// volumes are the pod's emptyDirs, each bounded: shared holds one binary,
// the others at most the sandbox's ephemeral storage limit.
func volumes(limit resource.Quantity) []corev1.Volume {
	dir := func(name string, size resource.Quantity) corev1.Volume {
		v := corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		if !size.IsZero() {
			v.EmptyDir.SizeLimit = ptr.To(size)
		}
		return v
	}
	return []corev1.Volume{dir("shared", sharedSizeLimit), dir("work", limit), dir("home", limit), dir("git", limit)}
}

// remoteURL is the repository's URL as the gate gets it: without
// credentials, which belong in the Secret.
func remoteURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("repository URL %q: the sandbox's git gate speaks https only", raw)
	}
	u.User = nil
	return u.String(), nil
}

func (b *Builder) labels(s Spec) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelComponent: ComponentSandbox,
		LabelManagedBy: AppName,
		LabelPartOf:    AppName,
		LabelInstance:  s.RunID,
		LabelRun:       s.RunID,
		LabelRepo:      LabelValue(s.Repo),
		LabelOwner:     LabelValue(b.ownerName),
		LabelFence:     strconv.FormatInt(s.Fence, 10),
	}
}

// mainResources turns the sandbox.resources block into requirements; an
// empty quantity sets nothing.
func mainResources(r config.Resources) (corev1.ResourceRequirements, error) {
	out := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, q := range []struct {
		list  corev1.ResourceList
		name  corev1.ResourceName
		key   string
		value string
	}{
		{out.Requests, corev1.ResourceCPU, "cpu_request", r.CPURequest},
		{out.Requests, corev1.ResourceMemory, "memory_request", r.MemoryRequest},
		{out.Requests, corev1.ResourceEphemeralStorage, "ephemeral_storage_request", r.EphemeralStorageRequest},
		{out.Limits, corev1.ResourceCPU, "cpu_limit", r.CPULimit},
		{out.Limits, corev1.ResourceMemory, "memory_limit", r.MemoryLimit},
		{out.Limits, corev1.ResourceEphemeralStorage, "ephemeral_storage_limit", r.EphemeralStorageLimit},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil {
			return out, fmt.Errorf("sandbox.resources.%s %q: %w", q.key, q.value, err)
		}
		q.list[q.name] = v
	}
	return out, nil
}

// securityContexts are the restricted Pod Security profile (non-root uid,
// no privilege escalation, every capability dropped, the runtime's seccomp
// profile), or for run_as_root the baseline one: root with the runtime's
// default capabilities, still without privilege escalation. The gate has
// its own (GateUID, restricted) either way.
func securityContexts(sb config.Sandbox) (*corev1.PodSecurityContext, *corev1.SecurityContext) {
	seccomp := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	if sb.RunAsRoot {
		return &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0), RunAsNonRoot: ptr.To(false), SeccompProfile: seccomp},
			&corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}
	}
	uid := sb.RunAsUser
	return &corev1.PodSecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(uid), RunAsGroup: ptr.To(uid), FSGroup: ptr.To(uid),
			SeccompProfile: seccomp,
		}, &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
}

// usableRunID reports whether id can be a label value and part of a DNS
// label as it is: the pod's run label must give the id back.
func usableRunID(id string) bool {
	return id != "" && LabelValue(id) == id && PodName(id, 0, "x") == "sandbox-"+id+"-0-x"
}
