// Package trackers is the contract between agent-smith and the systems
// tickets and code live in. One sub-package per tracker type (github,
// gitlab, azuredevops, jira) implements it; the rest of the product only
// sees the interfaces and normalized types here: a webhook becomes an Event,
// a ticket a Ticket, a pull request a PullRequest.
//
// Of agent-smith it imports config alone; the implementations import it,
// never the reverse. No package under trackers but intake imports runs,
// and none imports llm, sandbox, controllers or internal/* (depguard).
package trackers
