package runs

import "encoding/json"

// SandboxPhase is where a repository's sandbox pod is, as far as the run is
// concerned.
type SandboxPhase string

// The phases the sandbox reconciler records. A sandbox with no record yet
// is being created or has not come up.
const (
	// SandboxReady: the pod's agent container runs.
	SandboxReady SandboxPhase = "ready"
	// SandboxFailed: the pod cannot serve the run (image pull, OOM kill,
	// eviction, no readiness in time…); Reason says why.
	SandboxFailed SandboxPhase = "failed"
)

// SandboxStatus is what the sandbox reconciler last saw of one
// repository's sandbox pod in one attempt of the run.
type SandboxStatus struct {
	// Attempt is the run attempt the pod belongs to; a record of an
	// earlier attempt says nothing about the current one.
	Attempt int `json:"attempt"`
	// Fence is the start of the run the pod belongs to: a record of
	// another start says nothing about the current one either.
	Fence int64        `json:"fence,omitempty"`
	Phase SandboxPhase `json:"phase"`
	// Reason is the failure with a short diagnostic, scrubbed of secrets.
	Reason string `json:"reason,omitempty"`
}

// encode renders the status for its hash field, scrubbed like every free
// text the run keeps.
func (st SandboxStatus) encode() string {
	st.Reason = redact(st.Reason)
	data, _ := json.Marshal(st) // a struct of strings and an int always marshals
	return string(data)
}

func decodeSandboxStatus(v string) (SandboxStatus, error) {
	var st SandboxStatus
	err := json.Unmarshal([]byte(v), &st)
	return st, err
}
