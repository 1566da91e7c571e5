package config

// The structs below mirror agentsmith.yml one to one: the json tag of every
// field is its YAML key (sigs.k8s.io/yaml, the project's YAML library, reads
// json tags, and the decoder in this package does too). A `redact` tag marks
// values that Redacted hides: "value" replaces the whole string, "url" only
// the password of a URL's userinfo.

// Config is a loaded, defaulted and validated agentsmith.yml.
type Config struct {
	Sandbox          Sandbox             `json:"sandbox"`
	Orchestrator     Orchestrator        `json:"orchestrator"`
	Agents           map[string]*Agent   `json:"agents,omitempty"`
	Repos            map[string]*Repo    `json:"repos,omitempty"`
	Trackers         map[string]*Tracker `json:"trackers,omitempty"`
	PipelineTriggers map[string]string   `json:"pipeline_triggers,omitempty"`
	Projects         map[string]*Project `json:"projects,omitempty"`
	Skills           Skills              `json:"skills"`
	Secrets          map[string]string   `json:"secrets,omitempty" redact:"value"`
	Queue            Queue               `json:"queue"`
	Limits           Limits              `json:"limits"`

	// SecretEnv maps a secrets entry to the environment variable it was read
	// from, for entries written exactly as ${VAR}. The Kubernetes pod builder
	// hands those credentials to sandbox pods as secretKeyRef (key = VAR in
	// the Secret Sandbox.SecretName) instead of copying values into the pod.
	SecretEnv map[string]string `json:"-"`

	// Warnings are what the file should change but that does not keep it
	// from loading (a model nobody knows the limits or price of), in file
	// order. `config validate` prints them.
	Warnings []FieldError `json:"-"`
}

// Sandbox is the global `sandbox` block: how sandbox pods are built.
type Sandbox struct {
	// AgentRegistry and AgentVersion override the registry and the tag of
	// the image sandboxes inject the agent from, which is the orchestrator's
	// own image unless they say otherwise (see ResolveAgentImage). They
	// default to orchestrator.registry and orchestrator.version.
	AgentRegistry string `json:"agent_registry,omitempty"`
	AgentVersion  string `json:"agent_version,omitempty"`
	// AgentImage replaces the derived image reference entirely.
	AgentImage string `json:"agent_image,omitempty"`
	// SecretName is the Secret sandbox pods take credentials from.
	SecretName string `json:"secret_name"`
	// ToolchainImages maps a repository language to its toolchain image.
	ToolchainImages       map[string]string `json:"toolchain_images"`
	DefaultToolchainImage string            `json:"default_toolchain_image"`
	Resources             Resources         `json:"resources"`
	RunAsRoot             bool              `json:"run_as_root"`
	RunAsUser             int64             `json:"run_as_user"`
	// RuntimeClassName runs sandbox pods under a RuntimeClass (gVisor,
	// Kata) for isolation from the node's kernel; empty: the default.
	RuntimeClassName    string `json:"runtime_class_name,omitempty"`
	ReadyTimeoutSeconds int    `json:"ready_timeout_seconds"`
	StepTimeoutSeconds  int    `json:"step_timeout_seconds"`
	IdleTimeoutSeconds  int    `json:"idle_timeout_seconds"`
	// KeepFailedPodsMinutes keeps the sandbox pods of a failed run (still
	// owned by their orchestrator pod) that long for inspection; 0 deletes
	// them when the run ends, like any other run's.
	KeepFailedPodsMinutes int `json:"keep_failed_pods_minutes,omitempty"`
}

// Resources are Kubernetes quantities for the sandbox's main container.
// After validation every field parses with resource.ParseQuantity (so
// resource.MustParse is safe) and each request is at most its limit. The
// ephemeral storage limit also bounds each of the sandbox's volumes.
type Resources struct {
	CPURequest              string `json:"cpu_request,omitempty"`
	MemoryRequest           string `json:"memory_request,omitempty"`
	CPULimit                string `json:"cpu_limit,omitempty"`
	MemoryLimit             string `json:"memory_limit,omitempty"`
	EphemeralStorageRequest string `json:"ephemeral_storage_request,omitempty"`
	EphemeralStorageLimit   string `json:"ephemeral_storage_limit,omitempty"`
}

// GateUID is the uid of a sandbox's git gate, which holds the git
// credential: the toolchain's uid (sandbox.run_as_user) must differ.
const GateUID = 65532

// Orchestrator is the `orchestrator` block.
type Orchestrator struct {
	// Registry and Version name the orchestrator's image when it is not
	// the one the binary was built as (a mirror: {registry}/agent-smith:
	// {version}); sandboxes inject from that image too. Empty: the image
	// the build stamped (internal/version.OwnImage).
	Registry string `json:"registry,omitempty"`
	Version  string `json:"version,omitempty"`
	// RunsDir is where run artifacts are kept on the orchestrator pod.
	RunsDir string `json:"runs_dir"`
}

// AgentType names an LLM provider: a key of Kinds.Providers (llm/providers
// holds the table).
type AgentType string

// Agent is one `agents.<name>` entry: an LLM provider and how to use it.
type Agent struct {
	Type AgentType `json:"type"`
	// Model is the default model of every slot in Models.
	Model string `json:"model,omitempty"`
	// Endpoint is the provider's base URL (Azure resource, Ollama or an
	// OpenAI-compatible server); empty means the provider's public API.
	Endpoint string `json:"endpoint,omitempty" redact:"url"`
	// APIKeySecret names the `secrets` entry holding the API key; empty
	// means the provider takes no key.
	APIKeySecret string `json:"api_key_secret,omitempty"`
	// ContextWindow and MaxOutputTokens (the output cap of every slot that
	// sets none) are 0 when the file does not set them: the provider type
	// decides then (llm/providers: the model catalog, or the server).
	ContextWindow   int `json:"context_window,omitempty"`
	MaxOutputTokens int `json:"max_output_tokens,omitempty"`
	// ReasoningEffort is the reasoning effort of every slot that sets
	// none; empty leaves the model's default.
	ReasoningEffort       string             `json:"reasoning_effort,omitempty"`
	RequestTimeoutSeconds int                `json:"request_timeout_seconds"`
	Models                ModelSlots         `json:"models"`
	Pricing               map[string]Pricing `json:"pricing,omitempty"`
	Retry                 Retry              `json:"retry"`
	Compaction            Compaction         `json:"compaction"`
	// RecordTo, when set, is a path the exchanges are recorded to for a
	// later scripted replay.
	RecordTo string `json:"record_to,omitempty"`
	// Settings are the provider type's own keys of the block (Azure's
	// deployment, a scripted agent's script), written beside the keys
	// above; nil when the type has none.
	Settings AgentSettings `json:"-"`
}

// ModelSlots picks a model per kind of work. After loading every slot is
// filled: an empty slot takes the agent's model, output cap and reasoning
// effort (and, on Azure, deployment).
type ModelSlots struct {
	Planning      ModelSlot `json:"planning"`
	Execution     ModelSlot `json:"execution"`
	Review        ModelSlot `json:"review"`
	Summarization ModelSlot `json:"summarization"`
}

// All lists the slots, in the order planning, execution, review,
// summarization.
func (m *ModelSlots) All() []*ModelSlot {
	return []*ModelSlot{&m.Planning, &m.Execution, &m.Review, &m.Summarization}
}

// ModelSlot is one entry of ModelSlots. Deployment applies only to
// providers whose settings have a deployment key (Azure OpenAI).
type ModelSlot struct {
	Model           string `json:"model,omitempty"`
	Deployment      string `json:"deployment,omitempty"`
	MaxOutputTokens int    `json:"max_output_tokens,omitempty"`
	ReasoningEffort string `json:"reasoning_effort,omitempty"`
}

// Pricing is the USD price of a model per million tokens.
type Pricing struct {
	InputPerMillion       float64 `json:"input_per_million"`
	OutputPerMillion      float64 `json:"output_per_million"`
	CachedInputPerMillion float64 `json:"cached_input_per_million"`
	// CacheWritePerMillion bills input written to the prompt cache; 0
	// bills it at the input price.
	CacheWritePerMillion float64 `json:"cache_write_per_million,omitempty"`
}

// Retry is the backoff for throttled (429) and failed (5xx) provider calls.
type Retry struct {
	MaxRetries        int     `json:"max_retries"`
	InitialDelayMS    int     `json:"initial_delay_ms"`
	BackoffMultiplier float64 `json:"backoff_multiplier"`
	MaxDelayMS        int     `json:"max_delay_ms"`
}

// Compaction summarises old conversation turns once the context fills up.
type Compaction struct {
	Enabled bool `json:"enabled"`
	// TriggerRatio is the share of the context window that triggers it.
	TriggerRatio    float64 `json:"trigger_ratio"`
	KeepRecentTurns int     `json:"keep_recent_turns"`
}

// RepoType names a source host.
type RepoType string

// The repository types.
const (
	RepoGitHub      RepoType = "github"
	RepoGitLab      RepoType = "gitlab"
	RepoAzureDevOps RepoType = "azure_devops"
	// RepoGit is any git remote (or local path) without a host API: no pull
	// requests, only pushes.
	RepoGit RepoType = "git"
)

// Repo is one `repos.<name>` entry.
type Repo struct {
	Type RepoType `json:"type"`
	// URL is the clone URL.
	URL string `json:"url" redact:"url"`
	// Auth names the `secrets` entry with the token for clone, push and API.
	Auth string `json:"auth,omitempty"`
	// DefaultBranch empty means: ask the host.
	DefaultBranch string `json:"default_branch,omitempty"`
	// APIURL is the host's API base: https://api.github.com or
	// https://{host}/api/v3 for GitHub, https://{host} for GitLab (the
	// client adds /api/v4), the organization (or collection) URL for Azure
	// DevOps. Derived from URL when not set; empty for git.
	APIURL         string `json:"api_url,omitempty" redact:"url"`
	ToolchainImage string `json:"toolchain_image,omitempty"`
	Language       string `json:"language,omitempty"`
	// TestCommand is run with /bin/sh -c in the repository root.
	TestCommand string `json:"test_command,omitempty"`
}

// TrackerType names a ticket tracker: a key of Kinds.Trackers
// (trackers/connect holds the table). It is also the {type} segment of the
// tracker's webhook paths.
type TrackerType string

// Tracker is one `trackers.<name>` entry: the keys every tracker type has,
// and the type's own in Settings.
type Tracker struct {
	Type TrackerType `json:"type"`
	// URL is the API base: https://api.github.com (GitHub Enterprise:
	// https://{host}/api/v3), the GitLab instance root, the Azure DevOps
	// organization URL, the Jira site root. Types default it where they
	// can.
	URL string `json:"url" redact:"url"`
	// Project holds the tickets: owner/repo on GitHub, the project path on
	// GitLab, the project on Azure DevOps, the project key on Jira.
	Project string `json:"project"`
	// Auth names the `secrets` entry with the API token.
	Auth string `json:"auth,omitempty"`
	// WebhookSecret verifies webhook deliveries. A tracker without one
	// refuses webhooks.
	WebhookSecret string   `json:"webhook_secret,omitempty" redact:"value"`
	OpenStates    []string `json:"open_states"`
	// DoneStatus is the state a ticket is moved to when its pull requests
	// are open; empty leaves the state alone.
	DoneStatus string `json:"done_status,omitempty"`
	// TriggerLabels make a ticket a candidate (any one of them).
	TriggerLabels    []string `json:"trigger_labels"`
	Polling          Polling  `json:"polling"`
	ZeroMatchComment bool     `json:"zero_match_comment"`
	// Settings are the tracker type's own keys of the block (Jira's email,
	// GitHub's app), written beside the keys above; nil when the type has
	// none. The tracker's package owns their type.
	Settings TrackerSettings `json:"-"`
}

// Polling is a tracker's `polling` block.
type Polling struct {
	Enabled         bool `json:"enabled"`
	IntervalSeconds int  `json:"interval_seconds"`
	JitterPercent   int  `json:"jitter_percent"`
	TimeoutSeconds  int  `json:"timeout_seconds"`
}

// Pipeline names. Every pipeline a config mentions must be one of these.
const (
	PipelineFixBug      = "fix-bug"
	PipelineAddFeature  = "add-feature"
	PipelineFixNoTest   = "fix-no-test"
	PipelineInitProject = "init-project"
)

// Project is one `projects.<name>` entry: which tickets of which tracker
// become runs on which repositories with which agent.
type Project struct {
	Agent             string            `json:"agent"`
	Tracker           string            `json:"tracker"`
	Repos             []string          `json:"repos"`
	DefaultPipeline   string            `json:"default_pipeline"`
	PipelineFromLabel map[string]string `json:"pipeline_from_label,omitempty"`
	// TriggerBlock is the `trigger` block (or its alias of the tracker's
	// type, such as github_trigger); after loading it is set whenever the
	// tracker is (Trigger returns it).
	TriggerBlock         *Trigger        `json:"trigger,omitempty"`
	Sandbox              SandboxOverride `json:"sandbox"`
	SkillsPath           string          `json:"skills_path,omitempty"`
	CodingPrinciplesPath string          `json:"coding_principles_path"`
	DraftPullRequests    bool            `json:"draft_pull_requests"`
	// AllowCIConfigChanges lets runs push changes to CI configuration
	// (.github/workflows, .gitlab-ci.yml, …), which a pushed branch runs
	// with the repository's secrets. Refused by default.
	AllowCIConfigChanges bool `json:"allow_ci_config_changes"`
	// Commit is how the project's runs write their commits.
	Commit Commit `json:"commit"`
}

// Commit is how a project's runs write their commits.
type Commit struct {
	// AuthorName and AuthorEmail are the author and committer of every
	// commit (default Agent Smith <agent-smith@users.noreply.local>).
	AuthorName  string `json:"author_name"`
	AuthorEmail string `json:"author_email"`
	// Signoff ends every commit message with a Signed-off-by trailer of
	// the author, for repositories that require the DCO.
	Signoff bool `json:"signoff"`
	// Artifacts commits the run's plan and result under
	// .agentsmith/runs/{run}/ in the first repository with changes. Off by
	// default: they stay in the runs directory and the pull request.
	Artifacts bool `json:"artifacts"`
}

// Trigger decides which of a tracker's tickets belong to a project and how
// they are handled. After loading every field is resolved against the
// project and tracker (pipelines, done status, the type's own settings).
type Trigger struct {
	ProjectResolution ProjectResolution `json:"project_resolution"`
	// TriggerStatuses limits triggering to tickets in these states; empty
	// means any open state.
	TriggerStatuses   []string          `json:"trigger_statuses,omitempty"`
	DoneStatus        string            `json:"done_status,omitempty"`
	CommentKeyword    string            `json:"comment_keyword"`
	PipelineFromLabel map[string]string `json:"pipeline_from_label,omitempty"`
	DefaultPipeline   string            `json:"default_pipeline"`
	// CancelWhen says which changes of a ticket call its unfinished run
	// off.
	CancelWhen CancelWhen `json:"cancel_when"`
	// Settings are the tracker type's own keys of the block (Jira's
	// assignee_name); nil when the type has none.
	Settings TrackerSettings `json:"-"`
}

// CancelWhen is a trigger's `cancel_when` block: a ticket that stops
// asking for work cancels its unfinished run (queued, running or awaiting
// input), as a person cancelling it would. Both default to true.
type CancelWhen struct {
	// Closed: the ticket was closed (Azure DevOps: moved to Closed, Done
	// or Removed; Jira: to a status of category done).
	Closed bool `json:"closed"`
	// Unlabeled: the ticket's last trigger label (tag) was taken off.
	Unlabeled bool `json:"unlabeled"`
}

// Resolution strategies: how a ticket is matched to a project.
const (
	// ResolveByTag matches a ticket carrying the label/tag Value.
	ResolveByTag = "tag"
	// ResolveByAreaPath matches a ticket whose area path is Value or below
	// it (Azure DevOps work items).
	ResolveByAreaPath = "area_path"
	// ResolveByRepo matches tickets of the project's single repository.
	ResolveByRepo = "repo"
)

// ProjectResolution is a trigger's `project_resolution` block.
type ProjectResolution struct {
	Strategy string `json:"strategy"`
	Value    string `json:"value,omitempty"`
}

// SandboxOverride is a project's `sandbox` block. After loading it holds the
// effective values (unset fields come from the global block); SandboxFor
// returns the merged result as a Sandbox.
type SandboxOverride struct {
	ToolchainImage string    `json:"toolchain_image,omitempty"`
	Resources      Resources `json:"resources"`
	AgentRegistry  string    `json:"agent_registry,omitempty"`
	AgentVersion   string    `json:"agent_version,omitempty"`
	RunAsRoot      *bool     `json:"run_as_root"`
}

// Skills sources.
const (
	SkillsDefault = "default"
	SkillsPath    = "path"
	SkillsURL     = "url"
)

// Skills is the `skills` block: where the skills catalog comes from.
type Skills struct {
	Source   string `json:"source"`
	Version  string `json:"version,omitempty"`
	Path     string `json:"path,omitempty"`
	URL      string `json:"url,omitempty" redact:"url"`
	SHA256   string `json:"sha256,omitempty"`
	CacheDir string `json:"cache_dir"`
}

// Queue is the `queue` block: run execution per orchestrator replica.
type Queue struct {
	MaxParallelJobs      int `json:"max_parallel_jobs"`
	ShutdownGraceSeconds int `json:"shutdown_grace_seconds"`
	MaxAttempts          int `json:"max_attempts"`
	// HeartbeatSeconds is the renewal period; the key lives three times as
	// long (HeartbeatTTL).
	HeartbeatSeconds int    `json:"heartbeat_seconds"`
	RetentionHours   int    `json:"retention_hours"`
	RedisPrefix      string `json:"redis_prefix"`
	// AwaitingInputExpiryHours is how long a run parked for answers waits
	// before it is cancelled (with a comment) and its ticket freed.
	AwaitingInputExpiryHours int `json:"awaiting_input_expiry_hours"`
}

// Limits is the `limits` block: the guard rails of the LLM tool loop.
type Limits struct {
	MaxToolCallsPerLoop      int     `json:"max_tool_calls_per_loop"`
	MaxLLMCallsPerLoop       int     `json:"max_llm_calls_per_loop"`
	MaxInputTokensPerCall    int     `json:"max_input_tokens_per_call"`
	MaxOutputTokensPerCall   int     `json:"max_output_tokens_per_call"`
	MaxSecondsPerLoop        int     `json:"max_seconds_per_loop"`
	MaxCostUSDPerRun         float64 `json:"max_cost_usd_per_run"`
	MaxTokensPerRun          int     `json:"max_tokens_per_run"`
	MaxConcurrentLLMCalls    int     `json:"max_concurrent_llm_calls"`
	CommandTimeoutSeconds    int     `json:"command_timeout_seconds"`
	MaxCommandTimeoutSeconds int     `json:"max_command_timeout_seconds"`
	CommandOutputBytes       int     `json:"command_output_bytes"`
	// MaxRunsPerTicketPerDay caps the runs one ticket starts in a rolling
	// 24 hours, so a ticket that keeps being triggered (or that a broken
	// tracker keeps offering) spends at most this many runs' budget a
	// day; 0 means no cap.
	MaxRunsPerTicketPerDay int `json:"max_runs_per_ticket_per_day"`
}
