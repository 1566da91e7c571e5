// Package console is the operator's view of runs, served on the admin
// listener: the run API (list, get, the event log as JSON or a live
// Server-Sent Events stream, cancel, retry), the web page over the same,
// the bearer-token authentication both share (read-only and admin roles;
// a signed session cookie for browsers), and the Go client the
// `agent-smith runs` commands use.
//
// It reads and steers runs through the run store only; it must not import
// the pipeline, the workers, controllers, trackers, sandbox or llm.
package console
