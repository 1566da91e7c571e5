package pipeline

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/runs"
	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/trackers"
)

// push commits each repository's work (the run's artifacts go into the
// first repository with work when the project commits them) and pushes it
// to the run's branch. It moves
// the run to publishing first: from here on the run writes to the world.
func (j *job) push(ctx context.Context) error {
	if _, err := j.lease.Apply(ctx, runs.EventPublish, runs.Update{}); err != nil {
		return err
	}
	j.published = true
	if err := j.eachRepo(ctx, j.stage); err != nil {
		return err
	}
	for _, r := range j.repos {
		if r.hasWork && j.project.Commit.Artifacts {
			if err := j.writeArtifacts(ctx, r); err != nil {
				return err
			}
			if err := j.stage(ctx, r); err != nil {
				return err
			}
			break
		}
	}
	return j.eachRepo(ctx, func(ctx context.Context, r *repo) error {
		if !r.hasWork {
			j.note(ctx, "%s: no changes", r.name)
			return nil
		}
		if err := j.commit(ctx, r, commitMessage(j.run, j.ticket.Title, j.summary)); err != nil {
			return err
		}
		return j.pushBranch(ctx, r, r.branch, r.remoteSHA)
	})
}

// pathspec limits what init-project commits to the files it writes.
func (j *job) pathspec() []string {
	if j.run.Pipeline != config.PipelineInitProject {
		return nil
	}
	return append([]string{".agentsmith"}, j.bootstrapFiles()...)
}

// stage adds r's changes to the index and records whether r has work:
// staged changes, or commits on the branch beyond the base.
func (j *job) stage(ctx context.Context, r *repo) error {
	args := append([]string{"add", "-A", "--"}, j.pathspec()...)
	if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, args...)); err != nil {
		return err
	}
	staged, err := j.staged(ctx, r)
	if err != nil {
		return err
	}
	head, err := j.must(ctx, r, gitStep(gitLocalTimeout, "rev-parse", "HEAD"))
	if err != nil {
		return err
	}
	r.hasWork = staged || strings.TrimSpace(head) != r.baseSHA
	return nil
}

// staged reports whether the index differs from HEAD.
func (j *job) staged(ctx context.Context, r *repo) (bool, error) {
	res, err := j.exec(ctx, r, gitStep(gitLocalTimeout, "diff", "--cached", "--quiet"))
	if err != nil {
		return false, err
	}
	switch res.ExitCode {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("%s: %w", r.name, &commandError{Command: "git diff --cached --quiet", Exit: res.ExitCode, Output: tail(res.Stderr, 2000)})
}

// commit commits what is staged, if anything.
func (j *job) commit(ctx context.Context, r *repo, message string) error {
	staged, err := j.staged(ctx, r)
	if err != nil || !staged {
		return err
	}
	args := []string{"commit", "-q", "--no-verify", "-m", message}
	if j.project.Commit.Signoff {
		args = append(args, "--signoff")
	}
	_, err = j.must(ctx, r, gitStep(gitLocalTimeout, args...))
	return err
}

// pushBranch pushes HEAD to branch unless the remote has it already. The
// lease is the branch as it was seen (absent when lease is ""), so work
// someone pushed meanwhile is never overwritten.
func (j *job) pushBranch(ctx context.Context, r *repo, branch, lease string) error {
	head, err := j.must(ctx, r, gitStep(gitLocalTimeout, "rev-parse", "HEAD"))
	if err != nil {
		return err
	}
	if strings.TrimSpace(head) == lease {
		j.progress(ctx, "%s: %s is already on the remote", r.name, branch)
		return nil
	}
	// The commits go to the gate as a bundle of what the base lacks; the
	// gate pushes them from its own repository.
	mkdir := sandbox.Step{Kind: sandbox.KindRun, Command: "mkdir", Args: []string{"-p", path.Dir(sandbox.PushBundle)}, TimeoutSeconds: gitLocalTimeout}
	if _, err := j.must(ctx, r, mkdir); err != nil {
		return err
	}
	if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, "bundle", "create", "-q", sandbox.PushBundle, "HEAD", "^"+r.baseSHA)); err != nil {
		return err
	}
	if err := j.lease.Guard(ctx); err != nil {
		return err
	}
	if _, err := r.git.Push(ctx, sandbox.PushRequest{Branch: branch, Commit: strings.TrimSpace(head), Lease: lease, Credential: r.cred}); err != nil {
		return fmt.Errorf("%s: push %s: %w", r.name, branch, err)
	}
	if branch == r.branch {
		r.pushed = true
	}
	j.progress(ctx, "%s: pushed %s", r.name, branch)
	return nil
}

// pullRequests opens a pull request per pushed repository and, when there
// are several, links each to its siblings. A plain git repository is only
// pushed. The step fails when no pull request could be opened at all.
func (j *job) pullRequests(ctx context.Context) error {
	var tried, opened []*repo
	for _, r := range j.repos {
		if !r.hasWork || r.host == nil {
			continue
		}
		tried = append(tried, r)
		ref, err := r.host.OpenPullRequest(ctx, trackers.PullRequest{
			Head: r.branch, Base: r.base, Title: prTitle(j.run, j.ticket.Title), Body: j.prBody(r, nil),
			Draft: j.project.DraftPullRequests, TicketID: j.run.Ticket, TicketURL: j.ticket.URL,
		})
		if err != nil {
			if j.abandoned(ctx, err) {
				return err
			}
			r.prErr = j.scrub(err.Error())
			j.note(ctx, "%s: opening the pull request failed: %s", r.name, r.prErr)
			continue
		}
		r.pr = &ref
		opened = append(opened, r)
		j.progress(ctx, "%s: pull request %s", r.name, ref.URL)
		if _, err := j.lease.Update(ctx, runs.Update{PullRequests: map[string]string{r.name: ref.URL}}); err != nil {
			return err
		}
	}
	if len(tried) > 0 && len(opened) == 0 {
		return fmt.Errorf("no pull request could be opened: %s", tried[0].prErr)
	}
	if len(opened) < 2 {
		return nil
	}
	for _, r := range opened {
		if err := r.host.EditPullRequestBody(ctx, r.pr.Number, j.prBody(r, opened)); err != nil {
			j.note(ctx, "%s: linking the sibling pull requests failed: %v", r.name, err)
			j.log.Error(err, "linking sibling pull requests failed", "repo", r.name)
		}
	}
	return nil
}

// results is what the run did in each repository, for comments and the
// result.
func (j *job) results() []repoResult {
	var out []repoResult
	for _, r := range j.repos {
		var res string
		switch {
		case r.pr != nil:
			res = fmt.Sprintf("[pull request #%d](%s) from `%s`", r.pr.Number, r.pr.URL, r.branch)
		case r.prErr != "":
			res = fmt.Sprintf("pushed `%s`; the pull request failed: %s", r.branch, r.prErr)
		case r.pushed && r.host == nil:
			res = fmt.Sprintf("pushed `%s` (plain git repository: no pull request)", r.branch)
		case r.pushed:
			res = fmt.Sprintf("pushed `%s`", r.branch)
		case j.published && !r.hasWork:
			res = "skipped (no changes)"
		default:
			continue
		}
		out = append(out, repoResult{Name: r.name, Result: res})
	}
	return out
}

// pushWIP saves the unfinished work of a failed run: every checked-out
// repository with changes is committed and pushed to the WIP branch. It
// returns where the work went; failures are logged, they do not change
// the run's outcome.
func (j *job) pushWIP(ctx context.Context, step string) []string {
	var saved []string
	for _, r := range j.repos {
		if !r.checkedOut || j.released {
			continue
		}
		branch, err := j.saveWIP(ctx, r, step)
		if err != nil {
			j.log.Error(err, "pushing the unfinished work failed", "repo", r.name)
			continue
		}
		if branch != "" {
			saved = append(saved, fmt.Sprintf("`%s` in %s", branch, r.name))
		}
	}
	return saved
}

func (j *job) saveWIP(ctx context.Context, r *repo, step string) (string, error) {
	dirty, err := j.dirty(ctx, r)
	if err != nil || !dirty {
		return "", err
	}
	if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, "add", "-A")); err != nil {
		return "", err
	}
	msg := fmt.Sprintf("wip: %s (#%s)\n\nUnfinished work of agent-smith run %s, which failed at step %s.", j.ticket.Title, j.run.Ticket, j.run.ID, step)
	if err := j.commit(ctx, r, msg); err != nil {
		return "", err
	}
	wip := runs.WIPBranchFor(j.run.Ticket)
	refs, err := r.git.Refs(ctx, sandbox.RefsRequest{Branches: []string{wip}, Credential: r.cred})
	if err != nil {
		return "", fmt.Errorf("%s: read %s on the remote: %w", r.name, wip, err)
	}
	if err := j.pushBranch(ctx, r, wip, refs[wip]); err != nil {
		return "", err
	}
	return wip, nil
}

// writeArtifacts puts the run's artifacts into r's work tree.
func (j *job) writeArtifacts(ctx context.Context, r *repo) error {
	files := j.artifactFiles(outcome{State: runs.StatePublishing})
	for _, name := range sortedKeys(files) {
		p := artifactDir(j.run.ID) + "/" + name
		if err := sandbox.WriteFile(ctx, r.sb, p, files[name]); err != nil {
			return fmt.Errorf("%s: write %s: %w", r.name, p, err)
		}
	}
	return nil
}

// prTitle is a pull request's title, also the commit's subject.
func prTitle(run runs.Run, title string) string {
	kind := "fix"
	switch run.Pipeline {
	case config.PipelineAddFeature:
		kind = "feat"
	case config.PipelineInitProject:
		return fmt.Sprintf("chore: prepare the repository for agent-smith (#%s)", run.Ticket)
	}
	return fmt.Sprintf("%s: %s (#%s)", kind, strings.TrimSpace(title), run.Ticket)
}

func commitMessage(run runs.Run, title, summary string) string {
	msg := prTitle(run, title)
	if s := strings.TrimSpace(summary); s != "" {
		msg += "\n\n" + s
	}
	return msg + "\n\n" + runTrailer(run.ID)
}

// runTrailer ends the commit message of run's branch: a later execution of
// the same run reads it back as the sign that the branch is pushed.
func runTrailer(run string) string { return "agent-smith run " + run }

// sibling is another pull request of the same run.
type sibling struct {
	Repo, URL string
}

// prBody is the description of r's pull request; siblings, when given,
// are the run's pull requests to link.
func (j *job) prBody(r *repo, siblings []*repo) string {
	v := prView{
		Summary: j.summary, Plan: j.planText, TicketRef: ticketRef(j.ticket.URL, r.cloneURL),
		RunID: j.run.ID, Usage: j.statusView(nil).Usage, Decisions: decisionLines(j), Minor: findingsLines(j.minor),
	}
	for _, s := range siblings {
		if s != r {
			v.Siblings = append(v.Siblings, sibling{Repo: s.name, URL: s.pr.URL})
		}
	}
	return j.scrub(renderPRBody(v))
}

// prView is everything a pull request description shows.
type prView struct {
	Summary, Plan, TicketRef, RunID string
	Usage                           runs.Usage
	Decisions, Minor                []string
	Siblings                        []sibling
}

func renderPRBody(v prView) string {
	var b strings.Builder
	if s := strings.TrimSpace(v.Summary); s != "" {
		b.WriteString(s + "\n\n")
	}
	if v.Plan != "" {
		b.WriteString("## Plan\n\n" + strings.TrimSpace(v.Plan) + "\n\n")
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		b.WriteString("## " + title + "\n\n")
		for _, it := range items {
			b.WriteString("- " + it + "\n")
		}
		b.WriteString("\n")
	}
	list("Decisions", v.Decisions)
	list("Review notes", v.Minor)
	if len(v.Siblings) > 0 {
		b.WriteString("## Related pull requests\n\n")
		for _, s := range v.Siblings {
			fmt.Fprintf(&b, "- %s: %s\n", s.Repo, s.URL)
		}
		b.WriteString("\n")
	}
	if v.TicketRef != "" {
		b.WriteString(v.TicketRef + "\n\n")
	}
	fmt.Fprintf(&b, "---\n_Opened by agent-smith, run `%s`. %s_\n", v.RunID, usageLine(v.Usage))
	return b.String()
}

func decisionLines(j *job) []string {
	var out []string
	for _, d := range j.decisions {
		line := d.Decision
		if d.Reason != "" {
			line += " (" + d.Reason + ")"
		}
		out = append(out, line)
	}
	return out
}

func findingsLines(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}

// ticketRef is the line that ties a pull request to its ticket in the form
// the host acts on: "Fixes #N" for a GitHub issue of the same repository
// ("Fixes owner/repo#N" from another one), "Closes #N" for GitLab, else a
// link. Hosts add the same line when it is missing; writing it here keeps
// it when the sibling links replace the description.
func ticketRef(ticketURL, cloneURL string) string {
	if ticketURL == "" {
		return ""
	}
	t, err := url.Parse(ticketURL)
	c, cerr := url.Parse(cloneURL)
	if err != nil || cerr != nil || !strings.EqualFold(t.Host, c.Host) {
		return "Ticket: " + ticketURL
	}
	repoPath := strings.ToLower(strings.TrimSuffix(strings.Trim(c.Path, "/"), ".git"))
	parts := strings.Split(strings.Trim(t.Path, "/"), "/")
	n := len(parts)
	if n < 3 || parts[n-2] != "issues" || strings.Trim(parts[n-1], "0123456789") != "" || parts[n-1] == "" {
		return "Ticket: " + ticketURL
	}
	keyword, project := "Fixes", strings.Join(parts[:n-2], "/")
	if strings.HasSuffix(project, "/-") {
		keyword, project = "Closes", strings.TrimSuffix(project, "/-")
	}
	if strings.EqualFold(project, repoPath) {
		return keyword + " #" + parts[n-1]
	}
	return keyword + " " + project + "#" + parts[n-1]
}
