package config_test

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestRestartBoundNamesChangedSettingsReadOnlyAtStart(t *testing.T) {
	base := mustParse(t, baseDoc+webProject)
	for _, tc := range []struct {
		name  string
		extra string
		want  []string
	}{
		{"the same config", "", nil},
		{"projects and the drain grace reload", "queue: {shutdown_grace_seconds: 90}\n", nil},
		{"the worker count", "queue: {max_parallel_jobs: 9}\n", []string{"queue.max_parallel_jobs"}},
		{"the run store's shape", "queue: {redis_prefix: 'other:', heartbeat_seconds: 20, max_attempts: 5, retention_hours: 24}\n",
			[]string{"queue.redis_prefix", "queue.max_attempts", "queue.heartbeat_seconds", "queue.retention_hours"}},
		{"the model call limit and the runs directory", "limits: {max_concurrent_llm_calls: 2}\norchestrator: {runs_dir: /data/runs}\n",
			[]string{"limits.max_concurrent_llm_calls", "orchestrator.runs_dir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := mustParse(t, baseDoc+webProject+tc.extra)
			NewWithT(t).Expect(base.RestartBound(next)).To(Equal(tc.want))
		})
	}
}
