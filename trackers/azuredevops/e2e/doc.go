// Package e2e drives Azure DevOps service hook deliveries through the
// webhook endpoint (trackers/intake) into the run store on a real
// redis-server: the seed's TodoList example end to end. It holds tests
// only; they live apart from the tracker package so that fuzzing the
// webhook parser does not build the Kubernetes test environment.
package e2e
