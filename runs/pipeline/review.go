package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/skills"
)

// diffCap bounds the diff the reviewer reads, shared by the repositories.
const diffCap = 64 << 10

// Finding severities.
const (
	SeverityBlocking = "blocking"
	SeverityMinor    = "minor"
)

// Review is the reviewer's answer.
type Review struct {
	Approved bool      `json:"approved"`
	Findings []Finding `json:"findings"`
}

// Finding is one remark of the review.
type Finding struct {
	Severity string `json:"severity"`
	Repo     string `json:"repo,omitempty"`
	File     string `json:"file,omitempty"`
	Message  string `json:"message"`
}

func (f Finding) String() string {
	where := strings.Trim(f.Repo+"/"+f.File, "/")
	if where == "" {
		return f.Message
	}
	return where + ": " + f.Message
}

// Validate checks the review's shape; the model gets one repair turn when
// it fails.
func (r *Review) Validate() error {
	var errs []error
	for i, f := range r.Findings {
		if f.Severity != SeverityBlocking && f.Severity != SeverityMinor {
			errs = append(errs, fmt.Errorf("findings[%d].severity is %q, want blocking or minor", i, f.Severity))
		}
		if strings.TrimSpace(f.Message) == "" {
			errs = append(errs, fmt.Errorf("findings[%d].message is empty", i))
		}
	}
	if blocking := len(r.blocking()) > 0; r.Approved == blocking {
		errs = append(errs, errors.New("approved must be false exactly when a finding is blocking"))
	}
	return errors.Join(errs...)
}

func (r *Review) blocking() []Finding { return r.bySeverity(SeverityBlocking) }

func (r *Review) bySeverity(s string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// review has the review model judge the diff. Blocking findings go back
// to execute once (and through the tests again); blocking findings after
// that fail the run.
func (j *job) review(ctx context.Context) error {
	for round := 1; ; round++ {
		rev, err := j.askReview(ctx)
		if err != nil {
			return err
		}
		j.minor = rev.bySeverity(SeverityMinor)
		blocking := rev.blocking()
		if len(blocking) == 0 {
			j.note(ctx, "approved with %d minor findings", len(j.minor))
			return nil
		}
		if round == 2 {
			return fmt.Errorf("the review still has %d blocking findings after one fix: %s", len(blocking), findingsText(blocking))
		}
		j.note(ctx, "review: %d blocking findings; sending the model back once", len(blocking))
		if err := j.fixup(ctx, reviewFeedback(blocking)); err != nil {
			return err
		}
		if j.has(StepTest) {
			failures, err := j.runTests(ctx)
			if err != nil {
				return err
			}
			if len(failures) > 0 {
				return fmt.Errorf("tests fail after fixing the review findings: %s\n%s", summarize(failures), tail(failures[0].output, 1500))
			}
		}
	}
}

func (j *job) askReview(ctx context.Context) (*Review, error) {
	diff, err := j.diff(ctx)
	if err != nil {
		return nil, err
	}
	model, err := j.model(ctx, llm.SlotReview)
	if err != nil {
		return nil, err
	}
	in := j.input()
	in.Diff = diff
	system, err := j.system(in)
	if err != nil {
		return nil, err
	}
	prompt, err := j.catalog.Render(skills.Reviewer, in)
	if err != nil {
		return nil, err
	}
	var rev Review
	if _, err := llm.AskJSON(ctx, llm.Query{Model: model, Budget: j.budget, Limits: llm.LimitsFor(j.cfg.Limits),
		Phase: StepReview, System: system, Prompt: prompt}, &rev); err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	return &rev, nil
}

// diff is the change of every repository against its base, staged so new
// files count, each cut to its share of diffCap.
func (j *job) diff(ctx context.Context) (string, error) {
	parts := make([]string, len(j.repos))
	share := diffCap / max(len(j.repos), 1)
	err := j.eachRepo(ctx, func(ctx context.Context, r *repo) error {
		if _, err := j.must(ctx, r, gitStep(gitLocalTimeout, "add", "-A")); err != nil {
			return err
		}
		stat, err := j.must(ctx, r, gitStep(gitLocalTimeout, "diff", "--cached", "--stat", r.baseSHA))
		if err != nil {
			return err
		}
		patch, err := j.must(ctx, r, gitStep(gitLocalTimeout, "diff", "--cached", r.baseSHA))
		if err != nil {
			return err
		}
		text := "(no changes)"
		if strings.TrimSpace(patch) != "" {
			text = "```diff\n" + head(strings.TrimSpace(stat)+"\n\n"+patch, share) + "\n```"
		}
		parts[indexOf(j.repos, r)] = "### " + r.name + "\n\n" + text
		return nil
	})
	return strings.Join(parts, "\n\n"), err
}

func findingsText(fs []Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}

// reviewFeedback tells the model what the reviewer blocks on.
func reviewFeedback(blocking []Finding) string {
	var b strings.Builder
	b.WriteString("A reviewer blocks the change:\n\n")
	for _, f := range blocking {
		fmt.Fprintf(&b, "- %s\n", f)
	}
	return b.String()
}
