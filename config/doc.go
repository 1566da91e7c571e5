// Package config loads agentsmith.yml: it decodes the YAML into typed
// structs, expands ${VAR} references from the environment, applies the
// defaults, validates the result and reports every problem at once with its
// key path and line, and offers the read-only lookups (secrets, trackers,
// projects, sandbox settings) the rest of the orchestrator needs.
//
// config knows no tracker or model provider type. The caller passes Kinds:
// the table of tracker types (trackers/connect) and of provider types
// (llm/providers). A kind owns the keys it adds to a tracker, agent or
// trigger block (its settings type, with their defaults and checks); config
// decodes them from the same block, beside the common keys, and reports
// their problems with path and line like its own. config must not import
// trackers or llm: they import config.
//
// Callers get a *Config from Load or Parse and treat it as immutable: a
// changed ConfigMap is parsed into a new *Config that replaces the old one.
//
// Rules a config author can rely on:
//
//   - Unknown keys are errors, with the nearest known key (common or of
//     the block's type) suggested; a key of another type says which types
//     it applies to. Keys of the original system that are deliberately not
//     read (pipeline_storage, pipeline_data_flow, primary_provider, ...)
//     say so.
//   - Every string value may use ${VAR} and ${VAR:-fallback}; $$ is a
//     literal $, any other $ is kept as written. Expansion happens before
//     conversion, so `max_parallel_jobs: ${WORKERS}` works. An unset
//     variable is an error naming the key and the variable. Messages never
//     quote an expanded value (it may be a secret), only the text as
//     written.
//   - A default fills a key only when the file gives it no value, so an
//     explicit 0, false or "" is kept (`retry.max_retries: 0`,
//     `api_key_secret: ""` for a keyless OpenAI-compatible server).
//   - A project has one trigger block, `trigger`; the key of the original
//     system for its tracker's type (github_trigger, gitlab_trigger,
//     azuredevops_trigger, jira_trigger) is accepted for it. A project
//     without one gets an empty one. Without project_resolution a project
//     takes the issues of its repository when it names one repository and
//     that is where its tracker's tickets live (GitHub, GitLab), else the
//     tickets labelled like the project. Trigger fields left out inherit from the project
//     (default_pipeline, pipeline_from_label), the tracker (done_status)
//     and the tracker's type (Jira: agent_user as assignee_name).
//   - A project's sandbox block overrides the global one field by field,
//     resources included.
//   - done_status empty leaves the ticket's state alone after the pull
//     requests are opened.
//   - A tracker takes webhooks only with a webhook_secret (an empty one is
//     an error, not an open door); see Config.WebhookRoutes for the paths.
//   - What a kind cannot vouch for but that does not keep the config from
//     working (a model whose limits and price nobody knows) is a warning
//     with its path and line (Config.Warnings), not an error.
//   - YAML anchors, aliases and merge keys (<<) work; a document that
//     expands beyond a fixed budget is rejected.
//
// It imports no package of agent-smith: every other layer builds on it.
package config
