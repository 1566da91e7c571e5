package cli

// This file assembles the orchestrator's parts from one configuration:
// the Redis connection, the run store, the sandbox provisioner and the
// pipeline with its trackers, repository hosts, models and skills. Both
// `agent-smith run` and `agent-smith serve` build with it.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/memredis"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/providers"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/runs/pipeline"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/sandbox/local"
	"github.com/agent-smith/agent-smith/skills"
	"github.com/agent-smith/agent-smith/trackers"
	"github.com/agent-smith/agent-smith/trackers/connect"
)

// Sandbox backends (SANDBOX_TYPE).
const (
	sandboxLocal      = "local"
	sandboxKubernetes = "kubernetes"
)

// configKinds are the tracker and provider types agentsmith.yml may name:
// the tables of trackers/connect and llm/providers.
func configKinds() config.Kinds {
	return config.Kinds{Trackers: connect.Kinds(), Providers: providers.Kinds()}
}

// redisConn is the orchestrator's Redis. Sandboxes never talk to it.
type redisConn struct {
	Client redis.UniversalClient
	// URL is where it is, for the log (without credentials).
	URL string
	// Embedded is set when no REDIS_URL was given and an in-memory server
	// runs in this process: its data is gone when the process ends.
	Embedded bool
	// Authenticated is set when the connection logs in with a password.
	Authenticated bool
	close         func()
}

// Close closes the client and stops an embedded server.
func (c *redisConn) Close() {
	_ = c.Client.Close()
	if c.close != nil {
		c.close()
	}
}

// poolSize bounds the connections to Redis: workers' blocking reads of the
// queue hold one each.
const poolSize = 128

// openRedis connects to REDIS_URL as REDIS_USERNAME with REDIS_PASSWORD
// (each, when set, over what the URL says: no URL-encoding needed), or
// starts the embedded in-memory server when REDIS_URL is not set.
func openRedis(env Env) (*redisConn, error) {
	url := env.Get("REDIS_URL")
	if url == "" {
		srv, err := memredis.Start()
		if err != nil {
			return nil, fmt.Errorf("start the embedded Redis: %w", err)
		}
		opts, err := redis.ParseURL(srv.URL())
		if err != nil {
			srv.Close()
			return nil, err
		}
		opts.PoolSize = poolSize
		return &redisConn{Client: redis.NewClient(opts), URL: "redis://" + srv.Addr(), Embedded: true, Authenticated: true, close: srv.Close}, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: say what is wrong, not what it is.
		return nil, errors.New("REDIS_URL is not a redis:// or rediss:// URL")
	}
	if u := env.Get("REDIS_USERNAME"); u != "" {
		opts.Username = u
	}
	if p := env.Get("REDIS_PASSWORD"); p != "" {
		opts.Password = p
	}
	opts.PoolSize = poolSize
	shown := &neturl.URL{Scheme: "redis", Host: opts.Addr, Path: fmt.Sprintf("/%d", opts.DB)}
	if opts.TLSConfig != nil {
		shown.Scheme = "rediss"
	}
	return &redisConn{Client: redis.NewClient(opts), URL: shown.String(), Authenticated: opts.Password != ""}, nil
}

// newRunStore is the run store for cfg's queue block under prefix (the
// queue's redis_prefix unless a caller isolates itself).
func newRunStore(rdb redis.UniversalClient, cfg *config.Config, prefix string, notify func(runs.Run)) (*runs.Store, error) {
	q := cfg.Queue
	ttl := 3 * time.Duration(q.HeartbeatSeconds) * time.Second
	return runs.NewStore(rdb, runs.Options{
		Prefix:       prefix,
		HeartbeatTTL: ttl,
		MaxAttempts:  q.MaxAttempts,
		Retention:    time.Duration(q.RetentionHours) * time.Hour,
		// A blocked read does not see its context end: this bounds how long
		// a stopping replica waits for its idle workers. Idle workers'
		// reclaim passes also tell a live Redis from an outage, so they
		// come at least four times a heartbeat TTL.
		BlockTimeout: min(2*time.Second, ttl/4),
		Notify:       notify,
		OnEpoch:      func(why string) { redisEpochs.WithLabelValues(why).Inc() },
	})
}

// redisEpochs counts the restarts and outages of Redis this process's run
// store saw.
var redisEpochs = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "agentsmith_redis_epochs_total",
	Help: "Redis restarts (restart) and outages longer than half a heartbeat TTL (gap) this replica saw; reclaiming waits one heartbeat TTL after each.",
}, []string{"reason"})

// sandboxBackend picks the sandbox backend: the flag's value, else
// SANDBOX_TYPE, else kubernetes inside a cluster and local outside.
func sandboxBackend(flagValue string, env Env) (string, error) {
	v := flagValue
	if v == "" {
		v = env.Get("SANDBOX_TYPE")
	}
	if v == "" {
		v = sandboxLocal
		if env.Get("KUBERNETES_SERVICE_HOST") != "" {
			v = sandboxKubernetes
		}
	}
	if v != sandboxLocal && v != sandboxKubernetes {
		return "", fmt.Errorf("sandbox backend %q: want local or kubernetes", v)
	}
	return v, nil
}

// localSandboxes is the local provisioner: one agent process per
// repository, this binary as the agent and the gates' credential helper.
// Close it when done.
func localSandboxes(cfg *config.Config, log logr.Logger) (*local.Provisioner, error) {
	return local.New(local.Options{
		IdleTimeout: time.Duration(cfg.Sandbox.IdleTimeoutSeconds) * time.Second,
		KeepFailed:  cfg.Sandbox.KeepFailedPods(),
		Log:         log,
	})
}

// pipelineParts are what newPipeline assembles.
type pipelineParts struct {
	// Config returns the configuration in force (hot reload swaps it).
	Config func() *config.Config
	// ConfigPath resolves relative paths in the config (scripted agents'
	// scripts, record_to).
	ConfigPath  string
	Store       pipeline.Store
	Provisioner sandbox.Provisioner
	// HTTPClient makes the model, tracker and skills downloads' calls;
	// nil means http.DefaultClient.
	HTTPClient *http.Client
	// RunsDir overrides orchestrator.runs_dir.
	RunsDir string
}

// newPipeline builds the pipeline: trackers, hosts, models (one gate for
// the process, limits.max_concurrent_llm_calls of the config at start),
// and the skills loader.
func newPipeline(p pipelineParts) (*pipeline.Pipeline, error) {
	gate := llm.NewGate(p.Config().Limits.MaxConcurrentLLMCalls)
	baseDir := ""
	if p.ConfigPath != "" {
		baseDir = filepath.Dir(p.ConfigPath)
	}
	trs := &trackerCache{current: p.Config}
	return pipeline.New(pipeline.Deps{
		Config:      p.Config,
		Tracker:     trs.get,
		RepoHost:    connect.RepoHost,
		Store:       p.Store,
		Provisioner: p.Provisioner,
		Models: func(ctx context.Context, cfg *config.Config, agent string, slot llm.Slot, runID string) (*llm.Model, error) {
			return providers.New(ctx, cfg, agent, slot, providers.Options{RunID: runID, Gate: gate, HTTPClient: p.HTTPClient, BaseDir: baseDir})
		},
		Skills:  skills.NewLoader(p.HTTPClient),
		RunsDir: p.RunsDir,
	})
}

// trackerCache shares the trackers of the configuration in force between
// runs (a tracker remembers which labels exist); a run still on an older
// configuration gets trackers built from that one.
type trackerCache struct {
	current func() *config.Config

	mu    sync.Mutex
	cfg   *config.Config
	built map[string]trackers.Tracker
}

func (c *trackerCache) get(cfg *config.Config, name string) (trackers.Tracker, error) {
	if cfg != c.current() {
		return connect.Tracker(cfg, name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg != cfg {
		c.cfg, c.built = cfg, map[string]trackers.Tracker{}
	}
	if t, ok := c.built[name]; ok {
		return t, nil
	}
	t, err := connect.Tracker(cfg, name)
	if err != nil {
		return nil, err
	}
	c.built[name] = t
	return t, nil
}

// runsDirFor is where run artifacts are kept: dir when it can be created,
// else a directory under the system's temporary one (a laptop has no
// /var/lib/agent-smith volume).
func runsDirFor(dir string) string {
	if dir != "" && os.MkdirAll(dir, 0o755) == nil {
		return dir
	}
	return filepath.Join(os.TempDir(), "agent-smith", "runs")
}
