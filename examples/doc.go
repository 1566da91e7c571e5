// Package examples holds agentsmith.yml starting points: local (a laptop,
// `make run`) and Kustomize overlays of manifests/ for GitHub, GitLab, Jira
// and the Azure DevOps TodoList. The Go files only test them; nothing
// imports this package.
package examples
