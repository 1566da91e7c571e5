// Package azuredevops is the Azure DevOps tracker and Azure Repos host:
// work items as tickets (service-hook webhooks verified by the
// webhook_secret as basic-auth password or X-AgentSmith-Secret header,
// polling with WIQL and batched reads, lifecycle tags written with a
// JSON Patch revision test, Markdown comments that carry an invisible mark
// so agent-smith's own are never taken as instructions, completion by
// moving System.State with the closing comment in the same revision) and
// Git repositories as the place pull requests are opened and linked to
// their work item. It talks REST api-version 7.1 to
// dev.azure.com organizations and Azure DevOps Server collections,
// authenticated by a personal access token, and waits out the rate limits
// Azure DevOps announces with Retry-After.
//
// Of production code only trackers/connect imports it; it must not import
// another tracker, runs, llm or sandbox.
package azuredevops
