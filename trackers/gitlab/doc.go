// Package gitlab is the GitLab tracker and repository host: a project's
// issues as tickets (webhooks verified by the X-Gitlab-Token secret and
// deduplicated by Idempotency-Key, polling by label over every page,
// lifecycle labels changed with add_labels/remove_labels so concurrent
// label edits survive, one edited status note, completion by label or by
// closing the issue) and projects as the place merge requests are opened.
// It talks to gitlab.com or a self-managed instance through GitLab's Go
// client, authenticated by a token, and waits out rate limits itself.
//
// Who may instruct agent-smith by note: GitLab's Note Hook carries no
// access level, and the webhook answers without calling the API, so each
// Tracker keeps a snapshot of the project's members (GET
// /projects/:id/members/all) and trusts a note when its author has at least
// the Developer role (can push), as GitHub's OWNER/MEMBER/COLLABORATOR.
// See membership for how the snapshot is kept fresh.
//
// Of production code only trackers/connect imports it; it must not import
// another tracker, runs, llm or sandbox.
package gitlab
