package config

import "time"

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// ReadyTimeout bounds the wait for a sandbox pod to become ready.
func (s *Sandbox) ReadyTimeout() time.Duration { return seconds(s.ReadyTimeoutSeconds) }

// StepTimeout is the default timeout of one sandbox step.
func (s *Sandbox) StepTimeout() time.Duration { return seconds(s.StepTimeoutSeconds) }

// IdleTimeout is how long a sandbox agent waits for a step before it exits.
func (s *Sandbox) IdleTimeout() time.Duration { return seconds(s.IdleTimeoutSeconds) }

// KeepFailedPods is how long a failed run's sandbox pods are kept; 0: not
// at all.
func (s *Sandbox) KeepFailedPods() time.Duration {
	return time.Duration(s.KeepFailedPodsMinutes) * time.Minute
}

// RequestTimeout bounds one provider request.
func (a *Agent) RequestTimeout() time.Duration { return seconds(a.RequestTimeoutSeconds) }

// InitialDelay is the wait before the first retry.
func (r Retry) InitialDelay() time.Duration {
	return time.Duration(r.InitialDelayMS) * time.Millisecond
}

// MaxDelay caps the wait between retries.
func (r Retry) MaxDelay() time.Duration { return time.Duration(r.MaxDelayMS) * time.Millisecond }

// Interval is the time between two polls.
func (p Polling) Interval() time.Duration { return seconds(p.IntervalSeconds) }

// Timeout bounds one poll.
func (p Polling) Timeout() time.Duration { return seconds(p.TimeoutSeconds) }

// ShutdownGrace is how long in-flight runs may finish after SIGTERM.
func (q *Queue) ShutdownGrace() time.Duration { return seconds(q.ShutdownGraceSeconds) }

// Heartbeat is the renewal period of a run's heartbeat key.
func (q *Queue) Heartbeat() time.Duration { return seconds(q.HeartbeatSeconds) }

// HeartbeatTTL is the lifetime of a run's heartbeat key: three missed
// renewals mark the run's owner as gone.
func (q *Queue) HeartbeatTTL() time.Duration { return 3 * q.Heartbeat() }

// Retention is how long finished runs are kept in Redis.
func (q *Queue) Retention() time.Duration { return time.Duration(q.RetentionHours) * time.Hour }

// AwaitingInputExpiry is how long a parked run waits for answers.
func (q *Queue) AwaitingInputExpiry() time.Duration {
	return time.Duration(q.AwaitingInputExpiryHours) * time.Hour
}

// MaxLoopDuration bounds one LLM tool loop.
func (l *Limits) MaxLoopDuration() time.Duration { return seconds(l.MaxSecondsPerLoop) }

// CommandTimeout is the default timeout of a run_command tool call.
func (l *Limits) CommandTimeout() time.Duration { return seconds(l.CommandTimeoutSeconds) }

// MaxCommandTimeout is the largest timeout a run_command call may ask for.
func (l *Limits) MaxCommandTimeout() time.Duration { return seconds(l.MaxCommandTimeoutSeconds) }
