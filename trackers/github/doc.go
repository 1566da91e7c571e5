// Package github is the GitHub tracker and repository host: issues as
// tickets (webhooks verified by HMAC-SHA256, polling with ETags, lifecycle
// labels changed one label at a time, one edited status comment, completion
// by label or by closing the issue) and repositories as the place pull
// requests are opened. It talks to github.com or GitHub Enterprise Server
// through go-github, authenticated by a token or as a GitHub App
// installation, and waits out primary and secondary rate limits.
//
// Of production code only trackers/connect imports it; it must not import
// another tracker, runs, llm or sandbox.
package github
