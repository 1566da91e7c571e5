// Package worker executes queued runs on a replica: the queue workers
// (queue.max_parallel_jobs per replica) that take runs, keep their
// heartbeats, run the pipeline and settle each run by its state in Redis,
// drain on shutdown by handing unfinished runs back; the leader-only
// housekeeper that reclaims runs of dead replicas and runs the sweepers;
// and the run metrics read from the store at scrape time.
//
// It knows the pipeline only as an Executor and sandboxes or trackers not
// at all; it must not import controllers, trackers or the pipeline.
package worker
