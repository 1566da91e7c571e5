package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/agent-smith/agent-smith/sandbox"
	"github.com/agent-smith/agent-smith/skills"
)

// Caps of what the context step reads, so one huge README cannot crowd the
// model's context.
const (
	docLimit   = 12 << 10
	treeLimit  = 6 << 10
	treeDepth  = 3
	readLines  = 600
	readmeCap  = 6 << 10
	promptsCap = 16 << 10
)

// doc is a file of a repository the prompts include.
type doc struct {
	repo, path, text string
}

// repoDocs are the context files of one repository.
type repoDocs struct {
	principles string
	docs       []doc
}

// loadContext loads the skills catalog, then reads every repository's
// context files and finds its language, tree and test command.
func (j *job) loadContext(ctx context.Context) error {
	if err := j.loadSkills(ctx); err != nil {
		return err
	}
	docs := make([]repoDocs, len(j.repos))
	err := j.eachRepo(ctx, func(ctx context.Context, r *repo) error {
		i := indexOf(j.repos, r)
		return j.readRepo(ctx, r, &docs[i])
	})
	if err != nil {
		return err
	}
	j.principles, j.context = "", ""
	var principles, context []string
	for i, r := range j.repos {
		if d := docs[i]; d.principles != "" {
			principles = append(principles, section(j.multi(), r.name, d.principles))
		}
		for _, d := range docs[i].docs {
			context = append(context, "### "+j.label(d.repo, d.path)+"\n\n"+d.text)
		}
		facts := r.language
		if facts == "" {
			facts = "language unknown"
		}
		if r.testCommand == "" {
			facts += ", no test command"
		} else {
			facts += ", tests: " + r.testCommand
		}
		j.note(ctx, "%s: %s", r.name, facts)
	}
	j.principles = strings.Join(principles, "\n\n")
	j.context = strings.Join(context, "\n\n")
	return nil
}

// loadSkills loads the configured catalog with the project's overrides
// from the first repository's skills_path.
func (j *job) loadSkills(ctx context.Context) error {
	c, err := j.p.deps.Skills.Load(ctx, j.cfg.Skills)
	if err != nil {
		return fmt.Errorf("skills: %w", err)
	}
	if dir := j.project.SkillsPath; dir != "" && len(j.repos) > 0 {
		first := j.repos[0]
		texts := map[skills.Role]string{}
		for _, role := range skills.Roles {
			text, ok, err := j.readOptional(ctx, first, path.Join(dir, string(role)+".md"), promptsCap)
			if err != nil {
				return err
			}
			if ok {
				texts[role] = text
			}
		}
		if len(texts) > 0 {
			if c, err = c.WithOverrides(texts, first.name+"/"+dir); err != nil {
				return fmt.Errorf("skills: %w", err)
			}
		}
	}
	j.catalog = c
	j.progress(ctx, "skills catalog %s", c)
	return nil
}

func (j *job) readRepo(ctx context.Context, r *repo, out *repoDocs) error {
	listing, err := sandbox.ListFiles(ctx, r.sb, sandbox.ListRequest{MaxDepth: 1})
	if err != nil {
		return fmt.Errorf("%s: list files: %w", r.name, err)
	}
	var files rootFiles
	for _, e := range listing.Entries {
		files = append(files, e.Path)
	}
	r.language = r.cfg.Language
	if r.language == "" {
		r.language = detectLanguage(files)
	}
	r.testCommand = r.cfg.TestCommand
	if r.testCommand == "" {
		var pkg, mk string
		if files.has("package.json") {
			if pkg, _, err = j.readOptional(ctx, r, "package.json", docLimit); err != nil {
				return err
			}
		}
		for _, name := range []string{"Makefile", "makefile", "GNUmakefile"} {
			if files.has(name) {
				if mk, _, err = j.readOptional(ctx, r, name, docLimit); err != nil {
					return err
				}
				break
			}
		}
		r.testCommand = detectTestCommand(files, pkg, mk)
	}
	tree, err := sandbox.Tree(ctx, r.sb, sandbox.TreeRequest{MaxDepth: treeDepth})
	if err != nil {
		return fmt.Errorf("%s: directory tree: %w", r.name, err)
	}
	r.tree = head(tree, treeLimit)

	if out.principles, _, err = j.readOptional(ctx, r, j.project.CodingPrinciplesPath, docLimit); err != nil {
		return err
	}
	wanted := []struct {
		paths []string
		limit int
	}{
		{[]string{"AGENTS.md"}, docLimit},
		{[]string{".agentsmith/context.yaml"}, docLimit},
		{[]string{"README.md", "README", "README.rst", "readme.md"}, readmeCap},
	}
	for _, w := range wanted {
		for _, p := range w.paths {
			text, ok, err := j.readOptional(ctx, r, p, w.limit)
			if err != nil {
				return err
			}
			if ok {
				out.docs = append(out.docs, doc{repo: r.name, path: p, text: text})
				break
			}
		}
	}
	return nil
}

// readOptional reads the start of a file; ok is false when the sandbox
// has no such (readable text) file.
func (j *job) readOptional(ctx context.Context, r *repo, p string, limit int) (text string, ok bool, err error) {
	ft, err := sandbox.ReadFile(ctx, r.sb, sandbox.ReadFileRequest{Path: p, LineCount: readLines})
	if _, refused := errors.AsType[*sandbox.StepError](err); refused {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%s: read %s: %w", r.name, p, err)
	}
	text = ft.Content
	if ft.TotalLines > readLines {
		text += fmt.Sprintf("\n[… %d more lines]", ft.TotalLines-readLines)
	}
	return head(strings.TrimSpace(text), limit), true, nil
}

func (j *job) multi() bool { return len(j.repos) > 1 }

// label is a repository path as the prompts name it.
func (j *job) label(repo, p string) string {
	if j.multi() {
		return repo + "/" + p
	}
	return p
}

func section(multi bool, repo, text string) string {
	if !multi {
		return text
	}
	return "### " + repo + "\n\n" + text
}

func indexOf(rs []*repo, r *repo) int {
	for i, x := range rs {
		if x == r {
			return i
		}
	}
	return -1
}
