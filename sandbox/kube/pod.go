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
)

// Container names.
const (
	InitContainer = "inject"
	MainContainer = "toolchain"
)

// Environment variables of the agent container.
const (
	envRedisURL    = "REDIS_URL"
	envRedisPrefix = "REDIS_PREFIX"
	envJobID       = "JOB_ID"
	// EnvGitToken carries the repository's token: clone, push and host
	// API calls inside the sandbox read it from here.
	EnvGitToken = "GIT_TOKEN"
)

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

// Builder makes sandbox pods. Its fields are the same for every pod an
// orchestrator replica creates; Pod adds what the run and the config say.
type Builder struct {
	namespace string
	ownerName string
	ownerUID  string
	redisURL  string
	// redisSecret is set when redisURL carries a password: the agent then
	// reads REDIS_URL from the sandbox Secret instead of the pod spec.
	redisSecret bool
	image       string
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
	// RedisURL is how the agents reach Redis. A URL with a password is not
	// written into the pod spec, where everyone who may read pods sees
	// it: the agent takes REDIS_URL from the sandbox Secret instead, which
	// must then hold it under the key REDIS_URL.
	RedisURL string
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
	u, err := url.Parse(p.RedisURL)
	if err != nil || u.Hostname() == "" {
		// The URL itself may hold a password: name the problem, not the value.
		errs = append(errs, errors.New("REDIS_URL is not a redis:// URL with a host"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sandbox pod builder: %w", errors.Join(errs...))
	}
	_, hasPassword := u.User.Password()
	return &Builder{namespace: p.Namespace, ownerName: p.OwnerName, ownerUID: p.OwnerUID,
		redisURL: p.RedisURL, redisSecret: hasPassword, image: p.Image}, nil
}

// Spec is one sandbox: a repository of one start (attempt and fence) of a
// run.
type Spec struct {
	RunID   string
	Attempt int
	Fence   int64
	Project string
	Repo    string
}

// JobID is the sandbox's job id: its Redis keys and the agent's --job-id.
func (s Spec) JobID() string { return sandbox.JobID(s.RunID, s.Repo, s.Attempt, s.Fence) }

// Pod returns the sandbox pod of s as cfg describes it. It fails when cfg
// cannot produce a pod (an unknown repository, a credential that is not
// read from the environment, an unparsable resource quantity).
func (b *Builder) Pod(cfg *config.Config, s Spec) (*corev1.Pod, error) {
	fail := func(err error) (*corev1.Pod, error) {
		return nil, fmt.Errorf("sandbox pod for repo %s of run %s: %w", s.Repo, s.RunID, err)
	}
	if !usableRunID(s.RunID) || s.Attempt < 1 {
		return fail(fmt.Errorf("run id %q or attempt %d unusable in a pod", s.RunID, s.Attempt))
	}
	repo, ok := cfg.Repos[s.Repo]
	if !ok {
		return fail(errors.New("the repository is not in the configuration"))
	}
	sb := cfg.SandboxFor(s.Project)
	resources, err := mainResources(sb.Resources)
	if err != nil {
		return fail(err)
	}
	env, err := b.env(cfg, sb, s, repo)
	if err != nil {
		return fail(err)
	}
	podSecurity, containerSecurity := securityContexts(sb)
	args := []string{"sandbox-agent", "--redis-url", "$(" + envRedisURL + ")", "--job-id", s.JobID()}
	if sb.IdleTimeoutSeconds > 0 {
		args = append(args, "--idle-timeout", sb.IdleTimeout().String())
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
			SecurityContext:    podSecurity,
			InitContainers: []corev1.Container{{
				Name:                     InitContainer,
				Image:                    sb.ResolveAgentImage(b.image),
				Args:                     []string{"inject", agentPath},
				Resources:                injectResources,
				SecurityContext:          containerSecurity,
				VolumeMounts:             []corev1.VolumeMount{{Name: "shared", MountPath: sharedDir}},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
			Containers: []corev1.Container{{
				Name: MainContainer,
				// The pod exists before the checkout, so the image comes from
				// the configuration alone (repos.x.language, not detection).
				Image:           cfg.ToolchainImage(s.Project, s.Repo),
				Command:         []string{agentPath},
				Args:            args,
				WorkingDir:      workDir,
				Env:             env,
				Resources:       resources,
				SecurityContext: containerSecurity,
				VolumeMounts: []corev1.VolumeMount{
					// Steps must not replace the agent that runs them.
					{Name: "shared", MountPath: sharedDir, ReadOnly: true},
					{Name: "work", MountPath: workDir},
					{Name: "home", MountPath: homeDir},
				},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
			Volumes: []corev1.Volume{
				{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "home", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}, nil
}

// objectMeta names the pod after its run and repository and makes the
// orchestrator replica's pod its owner.
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

// env is the agent container's environment. Credentials are references
// into the sandbox Secret, resolved by the kubelet: their values are in
// neither the pod spec nor Redis.
func (b *Builder) env(cfg *config.Config, sb config.Sandbox, s Spec, repo *config.Repo) ([]corev1.EnvVar, error) {
	fromSecret := func(name, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: sb.SecretName}, Key: key,
		}}}
	}
	redisURL := corev1.EnvVar{Name: envRedisURL, Value: b.redisURL}
	if b.redisSecret {
		redisURL = fromSecret(envRedisURL, envRedisURL)
	}
	env := []corev1.EnvVar{
		redisURL,
		{Name: envRedisPrefix, Value: cfg.Queue.RedisPrefix},
		{Name: envJobID, Value: s.JobID()},
		// The toolchain image may have no home for a non-root uid.
		{Name: "HOME", Value: homeDir},
	}
	if repo.Auth != "" {
		key, ok := cfg.SecretEnv[repo.Auth]
		if !ok {
			return nil, fmt.Errorf("secret %q is not written as ${VAR} in agentsmith.yml, so the sandbox cannot take it from Secret %s", repo.Auth, sb.SecretName)
		}
		env = append(env, fromSecret(EnvGitToken, key))
	}
	return env, nil
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
		{out.Limits, corev1.ResourceCPU, "cpu_limit", r.CPULimit},
		{out.Limits, corev1.ResourceMemory, "memory_limit", r.MemoryLimit},
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
// default capabilities, still without privilege escalation.
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
