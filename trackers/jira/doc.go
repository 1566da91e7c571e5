// Package jira is the Jira Cloud tracker: the issues of one Jira project as
// tickets. It talks to the site's REST API v3 (/rest/api/3) with net/http
// and typed structs, authenticated by basic auth (account email and API
// token) or, without an email, a bearer token (an OAuth 2.0 access token or
// a personal access token). Jira Data Center has neither REST v3 nor the
// enhanced search, so it is not served by this package.
//
// Webhooks are verified by their X-Hub-Signature HMAC and deduplicated by
// X-Atlassian-Webhook-Identifier; polling runs JQL through
// the enhanced search (POST /search/jql, paged by nextPageToken);
// lifecycle labels change with one edit of add/remove operations, which
// cannot lose a concurrent edit; comments are written in Atlassian
// Document Format and read back as plain text; done_status is reached
// through the workflow transitions. Jira hosts no code: the
// repositories of a Jira project live on GitHub, GitLab or Azure Repos.
//
// Which webhook deliveries are work:
//   - jira:issue_created with a trigger label, or assigned to the agent
//     user (agent_user, or a project's trigger.assignee_name);
//   - jira:issue_updated whose changelog adds a trigger label, or sets the
//     assignee to the agent user;
//   - a new comment, read from the jira:issue_updated delivery Jira sends
//     for it (issue_event_type_name issue_commented). The comment_created
//     delivery of the same comment is acknowledged and ignored: on Jira
//     Cloud its issue is a summary without labels, so the project could not
//     be resolved from it, and reading both would act on one comment twice.
//     A webhook therefore needs the "Issue updated" event (which label
//     triggers need anyway); "Comment created" may stay on or off.
//
// A jira:issue_updated whose changelog moves the issue to a status of
// category done, or takes its last trigger label off, withdraws it: its
// unfinished run is cancelled (trackers.Event.Withdrawn).
//
// Who may instruct agent-smith in a comment: Jira webhooks come from the
// site itself (and are signed), and commenting needs the project's Add
// Comments permission, so any active site account (accountType atlassian)
// is trusted. Jira Service Management portal
// customers (accountType customer), apps (app) and anonymous commenters
// are not; the agent user's own comments are ignored.
//
// Of production code only trackers/connect imports it; it must not import
// another tracker, runs, llm or sandbox.
package jira
