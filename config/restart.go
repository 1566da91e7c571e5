package config

// RestartBound names, by their paths in agentsmith.yml, the settings that
// differ between c and next but that a replica reads only as it starts:
// the run store's and the workers' shape (queue), the process-wide model
// call limit and where run artifacts go. A reload takes everything else at
// once; these take effect at the replica's next restart, which the operator
// has to be told.
func (c *Config) RestartBound(next *Config) []string {
	var changed []string
	for _, s := range []struct {
		path      string
		was, will any
	}{
		{"queue.redis_prefix", c.Queue.RedisPrefix, next.Queue.RedisPrefix},
		{"queue.max_parallel_jobs", c.Queue.MaxParallelJobs, next.Queue.MaxParallelJobs},
		{"queue.max_attempts", c.Queue.MaxAttempts, next.Queue.MaxAttempts},
		{"queue.heartbeat_seconds", c.Queue.HeartbeatSeconds, next.Queue.HeartbeatSeconds},
		{"queue.retention_hours", c.Queue.RetentionHours, next.Queue.RetentionHours},
		{"limits.max_concurrent_llm_calls", c.Limits.MaxConcurrentLLMCalls, next.Limits.MaxConcurrentLLMCalls},
		{"orchestrator.runs_dir", c.Orchestrator.RunsDir, next.Orchestrator.RunsDir},
	} {
		if s.was != s.will {
			changed = append(changed, s.path)
		}
	}
	return changed
}
