package manifests

import (
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/testenv"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox/kube"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

func selects(g Gomega, sel metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(&sel)
	g.Expect(err).NotTo(HaveOccurred())
	return s.Matches(labels.Set(set))
}

// ports lists the TCP ports of a policy rule's ports.
func ports(ps []networkingv1.NetworkPolicyPort) []int32 {
	var out []int32
	for _, p := range ps {
		out = append(out, p.Port.IntVal)
	}
	return out
}

// The policies select the pods they protect by the labels those pods
// really carry: the Redis and orchestrator templates', and the sandbox
// pods' as kube.Builder makes them.
func TestNetworkPoliciesSelectThePodsTheyProtect(t *testing.T) {
	g := NewWithT(t)
	redis := find(t, "StatefulSet", "agent-smith-redis", &appsv1.StatefulSet{}).Spec.Template.Labels
	orchestrator := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{}).Spec.Template.Labels
	cfg, err := config.Parse([]byte(`
agents: {replay: {type: scripted, script: s.yaml}}
repos: {api: {type: github, url: "https://github.com/acme/api", auth: gh}}
trackers: {issues: {type: github, project: acme/api, auth: gh}}
projects: {p: {agent: replay, tracker: issues, repos: [api]}}
skills: {source: default, version: v3.0.1}
secrets: {gh: token}
`), "agentsmith.yml", func(string) (string, bool) { return "", false }, config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()})
	g.Expect(err).NotTo(HaveOccurred())
	b, err := kube.NewBuilder(kube.BuilderParams{Namespace: "agent-smith", OwnerName: "o", OwnerUID: "u",
		APIURL: "https://10.0.0.7:8443", APICert: []byte("cert"), Image: "registry.test/agent-smith:1"})
	g.Expect(err).NotTo(HaveOccurred())
	pod, err := b.Pod(cfg, kube.Spec{RunID: "20261128-000000-abcd", Attempt: 1, Project: "p", Repo: "api", Branch: runs.BranchFor("1")})
	g.Expect(err).NotTo(HaveOccurred())
	sandbox := pod.Labels

	// Redis: the orchestrator on 6379, nobody else; Redis calls out to no one.
	p := find(t, "NetworkPolicy", "agent-smith-redis", &networkingv1.NetworkPolicy{}).Spec
	g.Expect(selects(g, p.PodSelector, redis)).To(BeTrue())
	g.Expect(p.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress))
	g.Expect(p.Egress).To(BeEmpty())
	g.Expect(p.Ingress).To(HaveLen(1))
	g.Expect(ports(p.Ingress[0].Ports)).To(Equal([]int32{6379}))
	g.Expect(p.Ingress[0].From).To(HaveLen(1))
	g.Expect(selects(g, *p.Ingress[0].From[0].PodSelector, orchestrator)).To(BeTrue())
	g.Expect(selects(g, *p.Ingress[0].From[0].PodSelector, sandbox)).To(BeFalse(), "sandboxes never reach Redis")

	// The orchestrator: 8080 from anywhere (the Ingress), 8081 (admin)
	// from any pod but sandboxes, 8443 from sandboxes only.
	p = find(t, "NetworkPolicy", "agent-smith-orchestrator", &networkingv1.NetworkPolicy{}).Spec
	g.Expect(selects(g, p.PodSelector, orchestrator)).To(BeTrue())
	g.Expect(selects(g, p.PodSelector, sandbox)).To(BeFalse())
	for _, rule := range p.Ingress {
		switch ports(rule.Ports)[0] {
		case 8080:
			g.Expect(rule.From).To(BeEmpty())
		case 8081:
			g.Expect(rule.From).To(HaveLen(1))
			g.Expect(rule.From[0].NamespaceSelector).NotTo(BeNil(), "Prometheus lives in another namespace")
			g.Expect(selects(g, *rule.From[0].PodSelector, sandbox)).To(BeFalse(), "sandboxes never reach the run API")
			g.Expect(selects(g, *rule.From[0].PodSelector, map[string]string{"app": "prometheus"})).To(BeTrue())
		case 8443:
			g.Expect(rule.From).To(HaveLen(1))
			g.Expect(selects(g, *rule.From[0].PodSelector, sandbox)).To(BeTrue())
			g.Expect(selects(g, *rule.From[0].PodSelector, orchestrator)).To(BeFalse())
		default:
			t.Errorf("unexpected ingress rule %+v", rule)
		}
	}
	deploy := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{})
	g.Expect(deploy.Spec.Template.Spec.Containers[0].Ports).To(ContainElement(HaveField("ContainerPort", int32(8443))))

	// Sandboxes: nothing in; out only to the orchestrator's 8443, DNS,
	// and 443 outside link-local (metadata endpoints).
	p = find(t, "NetworkPolicy", "agent-smith-sandboxes", &networkingv1.NetworkPolicy{}).Spec
	g.Expect(selects(g, p.PodSelector, sandbox)).To(BeTrue())
	g.Expect(selects(g, p.PodSelector, orchestrator)).To(BeFalse())
	g.Expect(p.Ingress).To(BeEmpty())
	var out []int32
	for _, rule := range p.Egress {
		out = append(out, ports(rule.Ports)...)
		if slices.Contains(ports(rule.Ports), 8443) {
			g.Expect(selects(g, *rule.To[0].PodSelector, orchestrator)).To(BeTrue())
		}
		if slices.Contains(ports(rule.Ports), 443) {
			g.Expect(rule.To[0].IPBlock.Except).To(ContainElement("169.254.0.0/16"))
		}
	}
	g.Expect(out).To(ConsistOf(int32(8443), int32(53), int32(53), int32(443)))
	g.Expect(out).NotTo(ContainElement(int32(6379)))
}

// The orchestrator logs in to Redis with the Secret's password, tells its
// sandboxes where it is, and may create and delete their Secrets but not
// read any.
func TestTheOrchestratorHasRedisCredentialsAndWritesButNeverReadsSecrets(t *testing.T) {
	g := NewWithT(t)
	c := find(t, "Deployment", "agent-smith-orchestrator", &appsv1.Deployment{}).Spec.Template.Spec.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	g.Expect(env["REDIS_USERNAME"].Value).To(Equal("agent-smith"))
	g.Expect(env["POD_IP"].ValueFrom.FieldRef.FieldPath).To(Equal("status.podIP"))
	g.Expect(c.EnvFrom[0].SecretRef.Name).To(Equal("agent-smith-secrets"))
	secret := find(t, "Secret", "agent-smith-secrets", &corev1.Secret{})
	g.Expect(secret.StringData).To(HaveKey("REDIS_PASSWORD"), "the orchestrator's REDIS_PASSWORD, through envFrom")
	redis := find(t, "StatefulSet", "agent-smith-redis", &appsv1.StatefulSet{}).Spec.Template.Spec.Containers[0]
	g.Expect(redis.Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Key", "REDIS_PASSWORD")))

	role := find(t, "Role", "agent-smith-sandbox-manager", &rbacv1.Role{})
	var secrets []string
	for _, rule := range role.Rules {
		if slices.Contains(rule.Resources, "secrets") {
			secrets = append(secrets, rule.Verbs...)
		}
	}
	g.Expect(secrets).To(ConsistOf("create", "delete"))
}

// The sandbox reconciler and the sweeper patch a failed run's pods to keep
// them (controllers.markKept); without the verb every keep is Forbidden.
func TestTheOrchestratorMayPatchSandboxPodsToKeepThemButNotExecIntoThem(t *testing.T) {
	g := NewWithT(t)
	role := find(t, "Role", "agent-smith-sandbox-manager", &rbacv1.Role{})
	verbs := map[string][]string{}
	for _, rule := range role.Rules {
		for _, r := range rule.Resources {
			verbs[r] = append(verbs[r], rule.Verbs...)
		}
	}
	g.Expect(verbs["pods"]).To(ConsistOf("get", "list", "watch", "create", "patch", "delete"))
	g.Expect(verbs).NotTo(HaveKey("pods/exec"))
}

// Redis started as the manifests start it (testenv runs the StatefulSet's
// own script and the ConfigMap's redis.conf): without the password only
// PING works; the orchestrator's user does all the run store does, and
// none of the admin commands; memory is capped without eviction.
func TestRedisAsShippedRefusesClientsWithoutTheSecret(t *testing.T) {
	g := NewWithT(t)
	rds := testenv.OwnRedis(t, testenv.WithShippedConfig())
	ctx := context.Background()

	anonymous := testenv.RedisClient(t, rds.Addr, "", "")
	g.Expect(anonymous.Ping(ctx).Err()).To(Succeed(), "the probes' redis-cli ping")
	for name, err := range map[string]error{
		"GET":    anonymous.Get(ctx, "agentsmith:run:x").Err(),
		"KEYS":   anonymous.Keys(ctx, "*").Err(),
		"LPUSH":  anonymous.LPush(ctx, "agentsmith:queue", "x").Err(),
		"CONFIG": anonymous.ConfigGet(ctx, "*").Err(),
	} {
		g.Expect(err).To(MatchError(ContainSubstring("NOPERM")), name)
	}
	user, password := rds.Credentials()
	g.Expect(testenv.RedisClient(t, rds.Addr, user, "wrong").Ping(ctx).Err()).To(MatchError(ContainSubstring("WRONGPASS")))

	c := rds.Client(t)
	store, err := runs.NewStore(c, runs.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	res, err := store.Submit(ctx, runs.Submission{Project: "p", Pipeline: "fix-bug", Tracker: "t", Ticket: "1", Repos: []string{"api"}})
	g.Expect(err).NotTo(HaveOccurred())
	lease, err := store.Dequeue(ctx, runs.Owner{Name: "replica"})
	g.Expect(err).NotTo(HaveOccurred())
	defer lease.Close()
	run := lease.Run()
	g.Expect(run.ID).To(Equal(res.RunID))
	g.Expect(store.AppendProgress(ctx, run.ID, "ticket", "line")).To(Succeed())
	_, err = store.Apply(ctx, run.ID, runs.EventFail, runs.Update{Fence: run.Fence, Error: "x"})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = store.SweepOrphans(ctx)
	g.Expect(err).NotTo(HaveOccurred(), "SCAN is allowed")

	for name, err := range map[string]error{
		"FLUSHALL": c.FlushAll(ctx).Err(),
		"KEYS":     c.Keys(ctx, "*").Err(),
		"CONFIG":   c.ConfigGet(ctx, "maxmemory").Err(),
		"ACL":      c.Do(ctx, "ACL", "LIST").Err(),
		"SAVE":     c.Do(ctx, "SAVE").Err(),
		"SHUTDOWN": c.Do(ctx, "SHUTDOWN", "NOSAVE").Err(),
		"MONITOR":  c.Do(ctx, "MONITOR").Err(),
	} {
		g.Expect(err).To(MatchError(ContainSubstring("NOPERM")), name)
	}
	info, err := c.Info(ctx, "memory").Result()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info).To(And(ContainSubstring("maxmemory:805306368"), ContainSubstring("maxmemory_policy:noeviction")))
	g.Expect(password).To(HaveLen(64))
}

func TestRedisAsShippedCarriesCancelsOnThePrefixsChannelOnly(t *testing.T) {
	g := NewWithT(t)
	rds := testenv.OwnRedis(t, testenv.WithShippedConfig())
	ctx := context.Background()
	c := rds.Client(t)

	// Two replicas; an hour's heartbeat TTL leaves the cancel channel the
	// only way the owner can learn of the cancel within the deadline.
	opts := runs.Options{HeartbeatTTL: time.Hour}
	owner, err := runs.NewStore(c, opts)
	g.Expect(err).NotTo(HaveOccurred())
	other, err := runs.NewStore(rds.Client(t), opts)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = owner.Submit(ctx, runs.Submission{Project: "p", Pipeline: "fix-bug", Tracker: "t", Ticket: "1", Repos: []string{"api"}})
	g.Expect(err).NotTo(HaveOccurred())
	lease, err := owner.Dequeue(ctx, runs.Owner{Name: "replica-a"})
	g.Expect(err).NotTo(HaveOccurred())
	defer lease.Close()
	work := lease.Bind(ctx)
	keep, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = lease.Keep(keep) }()
	// A cancel before the subscription is up is caught by the renewal that
	// follows it; either way it must get through the ACL.
	g.Eventually(func() (int64, error) {
		n, err := c.PubSubNumSub(ctx, "agentsmith:cancelled").Result()
		return n["agentsmith:cancelled"], err
	}).WithTimeout(10*time.Second).Should(BeEquivalentTo(1), "the owner subscribed under the ACL")
	_, err = other.Cancel(ctx, lease.Run().ID, "alice", "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(work.Done()).WithTimeout(10 * time.Second).Should(BeClosed())
	g.Expect(context.Cause(work)).To(MatchError(runs.ErrCancelled))

	g.Expect(c.Publish(ctx, "elsewhere", "x").Err()).To(MatchError(ContainSubstring("NOPERM")), "PUBLISH outside the prefix")
	ps := c.Subscribe(ctx, "elsewhere")
	defer ps.Close()
	_, err = ps.Receive(ctx)
	g.Expect(err).To(MatchError(ContainSubstring("NOPERM")), "SUBSCRIBE outside the prefix")
}
