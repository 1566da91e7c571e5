package skills

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"
)

// Role names a prompt of the catalog.
type Role string

// The prompts every catalog has.
const (
	// System is shared by every model call of a run.
	System Role = "system"
	// Planner asks for the structured plan.
	Planner Role = "planner"
	// Implementer is the task of the execution loop.
	Implementer Role = "implementer"
	// Fixup sends the execution loop back with failing tests or review
	// findings.
	Fixup Role = "fixup"
	// Reviewer asks for the structured review of the diff.
	Reviewer Role = "reviewer"
	// Tester writes tests for a new feature (add-feature).
	Tester Role = "tester"
	// Documenter updates the documentation of a feature (add-feature).
	Documenter Role = "documenter"
	// Bootstrap writes the .agentsmith/ files (init-project).
	Bootstrap Role = "bootstrap"
)

// Roles lists every role, each a file {role}.md of a catalog.
var Roles = []Role{System, Planner, Implementer, Fixup, Reviewer, Tester, Documenter, Bootstrap}

// Input is what a prompt template is fed.
type Input struct {
	// Pipeline is the run's pipeline (fix-bug, add-feature, …).
	Pipeline string
	Ticket   Ticket
	Repos    []Repo
	// MultiRepo is set when the run has several repositories: tool paths
	// then start with the repository's name.
	MultiRepo bool
	// Principles are the coding principles of the repositories.
	Principles string
	// PrinciplesPath is where a repository keeps them (bootstrap writes it).
	PrinciplesPath string
	// Context is the repositories' AGENTS.md, .agentsmith/context.yaml and
	// README, each under a heading.
	Context string
	// Discussion is the ticket's comments and earlier questions with their
	// answers.
	Discussion string
	// Plan is the plan in Markdown, once there is one.
	Plan string
	// Summary is what the implementer reported.
	Summary string
	// Feedback is why the implementer is sent back (fixup): failing test
	// output or blocking review findings.
	Feedback string
	// Diff is the change under review.
	Diff string
	// DataNonce marks this render's frames around text people wrote on
	// the ticket (title, description, comments, answers): each such text
	// is between "<<<TICKET_DATA {nonce} …" and "TICKET_DATA {nonce}>>>".
	// The pipeline appends the rule that names it to every system prompt,
	// so a catalog cannot leave it out.
	DataNonce string
}

// Ticket is the ticket as prompts show it.
type Ticket struct {
	ID, Title, Body, URL string
}

// Repo is one repository of the run as prompts show it.
type Repo struct {
	Name        string
	Language    string
	TestCommand string
	// Tree is the top of the repository's directory tree.
	Tree string
	// Notes are the catalog's notes for the repository's language.
	Notes string
}

// Catalog is a loaded, parsed prompt catalog.
type Catalog struct {
	// Source is how it was loaded: default, path or url.
	Source string
	// Version is the catalog version in use; empty for an unversioned
	// local directory.
	Version string
	// Origin is where it came from: "embedded", a directory or a URL.
	Origin string

	prompts map[Role]*template.Template
	langs   map[string]string
}

// String is the catalog as the run's report names it.
func (c *Catalog) String() string {
	v := c.Version
	if v == "" {
		v = "unversioned"
	}
	return fmt.Sprintf("%s %s (%s)", c.Source, v, c.Origin)
}

// Render executes the prompt of role with in.
func (c *Catalog) Render(role Role, in Input) (string, error) {
	t, ok := c.prompts[role]
	if !ok {
		return "", fmt.Errorf("skills catalog %s has no %s prompt", c, role)
	}
	var b strings.Builder
	if err := t.Execute(&b, in); err != nil {
		return "", fmt.Errorf("render %s prompt of skills catalog %s: %w", role, c, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// Language returns the catalog's notes for a repository language ("go",
// "node", …), or "" when it has none.
func (c *Catalog) Language(lang string) string { return c.langs[strings.ToLower(lang)] }

// WithOverrides returns a copy of the catalog whose prompts of the roles
// in texts are replaced (a project's skills_path in its repository).
func (c *Catalog) WithOverrides(texts map[Role]string, from string) (*Catalog, error) {
	out := *c
	out.prompts = maps.Clone(c.prompts)
	out.Origin = c.Origin + " with overrides from " + from
	for _, role := range slices.Sorted(maps.Keys(texts)) {
		t, err := parse(role, texts[role])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		out.prompts[role] = t
	}
	return &out, nil
}

// parseFS reads a catalog laid out as the package doc describes from the
// root of fsys. Every role's file must be there and parse.
func parseFS(fsys fs.FS, source, version, origin string) (*Catalog, error) {
	c := &Catalog{Source: source, Version: version, Origin: origin, prompts: map[Role]*template.Template{}, langs: map[string]string{}}
	var errs []error
	for _, role := range Roles {
		data, err := fs.ReadFile(fsys, string(role)+".md")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.md: %w", role, err))
			continue
		}
		t, err := parse(role, string(data))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.prompts[role] = t
	}
	notes, err := fs.Glob(fsys, "lang/*.md")
	if err != nil {
		errs = append(errs, err)
	}
	for _, name := range notes {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.langs[strings.ToLower(strings.TrimSuffix(path.Base(name), ".md"))] = strings.TrimSpace(string(data))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("skills catalog at %s: %w", origin, err)
	}
	return c, nil
}

func parse(role Role, text string) (*template.Template, error) {
	t, err := template.New(string(role)).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s prompt: %w", role, err)
	}
	return t, nil
}
