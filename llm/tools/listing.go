package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/sandbox"
)

type listDirectory struct{ t *Toolset }

func (l listDirectory) Def() llm.ToolDef {
	return llm.ToolDef{
		Name:        "list_directory",
		Description: "List the entries of a directory, directories ending in /. Dependency and build directories are listed but not descended into.",
		Parameters: schema(nil,
			str("path", l.t.pathHelp("The directory (default: the root)")),
			integer("depth", "How many levels to list (default 1, at most 5)."),
			boolean("with_sizes", "Show file sizes in bytes.")),
	}
}

func (l listDirectory) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Path      string `json:"path"`
		Depth     int    `json:"depth"`
		WithSizes bool   `json:"with_sizes"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	targets, err := l.t.scope(a.Path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, tg := range targets {
		listing, err := sandbox.ListFiles(ctx, tg.sb, sandbox.ListRequest{Path: tg.rel, MaxDepth: min(max(a.Depth, 1), 5), WithSizes: a.WithSizes})
		if err != nil {
			return "", sandboxErr(err)
		}
		for _, e := range listing.Entries {
			b.WriteString(l.t.display(tg.repo, e.Path))
			switch {
			case e.IsDir && e.Skipped:
				b.WriteString("/ (not descended into)")
			case e.IsDir:
				b.WriteString("/")
			case e.Size != nil:
				fmt.Fprintf(&b, " (%d bytes)", *e.Size)
			}
			b.WriteByte('\n')
		}
		if listing.Truncated {
			b.WriteString("[listing cut at its entry cap: list a subdirectory or use find_files]\n")
		}
	}
	if b.Len() == 0 {
		return "(empty directory)", nil
	}
	return b.String(), nil
}

type directoryTree struct{ t *Toolset }

func (d directoryTree) Def() llm.ToolDef {
	return llm.ToolDef{
		Name:        "directory_tree",
		Description: "Show the directory tree as indented names, directories ending in /. Good for a first overview of a repository.",
		Parameters: schema(nil,
			str("path", d.t.pathHelp("The directory (default: the root)")),
			integer("depth", "How many levels to show (default 4).")),
	}
}

func (d directoryTree) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Path  string `json:"path"`
		Depth int    `json:"depth"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	targets, err := d.t.scope(a.Path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, tg := range targets {
		tree, err := sandbox.Tree(ctx, tg.sb, sandbox.TreeRequest{Path: tg.rel, MaxDepth: max(a.Depth, 0)})
		if err != nil {
			return "", sandboxErr(err)
		}
		if d.t.multi() {
			fmt.Fprintf(&b, "%s/ (repository)\n", tg.repo)
			for line := range strings.Lines(tree) {
				b.WriteString("  " + line)
			}
			continue
		}
		b.WriteString(tree)
	}
	return b.String(), nil
}

// findPrune are the directories find_files does not descend into, as the
// agent's own walks skip them.
var findPrune = []string{".git", "node_modules", "vendor", "bin", "obj", "dist", "build", "target", "__pycache__", ".venv"}

// defaultFindLimit is how many paths find_files returns by default.
const defaultFindLimit = 200

type findFiles struct{ t *Toolset }

func (f findFiles) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "find_files",
		Description: "Find files by glob. A glob without / matches file names at any depth (\"*_test.go\"); one with / matches " +
			"the path from the search directory (\"src/**/*.ts\"). Dependency and build directories are skipped.",
		Parameters: schema([]string{"pattern"},
			str("pattern", "The glob."),
			str("path", f.t.pathHelp("The directory to search (default: the root)")),
			integer("head_limit", fmt.Sprintf("Return at most this many paths (default %d).", defaultFindLimit))),
	}
}

func (f findFiles) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Pattern   string `json:"pattern"`
		Path      string `json:"path"`
		HeadLimit int    `json:"head_limit"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	if a.Pattern == "" {
		return "", errors.New("pattern is required")
	}
	if !doublestar.ValidatePattern(strings.TrimPrefix(a.Pattern, "/")) {
		return "", fmt.Errorf("invalid glob %q", a.Pattern)
	}
	limit := a.HeadLimit
	if limit <= 0 {
		limit = defaultFindLimit
	}
	targets, err := f.t.scope(a.Path)
	if err != nil {
		return "", err
	}
	var found []string
	truncated := false
	for _, tg := range targets {
		paths, cut, err := f.find(ctx, tg)
		if err != nil {
			return "", err
		}
		truncated = truncated || cut
		for _, p := range paths {
			if globMatch(a.Pattern, p) {
				found = append(found, f.t.display(tg.repo, path.Join(tg.rel, p)))
			}
		}
	}
	slices.Sort(found)
	var b strings.Builder
	for i, p := range found {
		if i == limit {
			fmt.Fprintf(&b, "[%d more; narrow the pattern or raise head_limit]\n", len(found)-limit)
			break
		}
		b.WriteString(p + "\n")
	}
	if truncated {
		b.WriteString("[the file list was cut by the output cap; search a subdirectory]\n")
	}
	if len(found) == 0 {
		b.WriteString("no files match\n")
	}
	return b.String(), nil
}

// find lists the files under tg with find(1), as paths relative to tg.
func (f findFiles) find(ctx context.Context, tg target) ([]string, bool, error) {
	dir := tg.rel
	if dir == "" {
		dir = "."
	}
	args := []string{dir, "("}
	for i, name := range findPrune {
		if i > 0 {
			args = append(args, "-o")
		}
		args = append(args, "-name", name)
	}
	args = append(args, ")", "-prune", "-o", "-type", "f", "-print")
	res, err := tg.sb.Run(ctx, sandbox.Step{Kind: sandbox.KindRun, Command: "find", Args: args,
		TimeoutSeconds: int(f.t.opts.CommandTimeout.Seconds())}, nil)
	if err != nil {
		return nil, false, sandboxErr(err)
	}
	if err := res.Err(); err != nil {
		return nil, false, err
	}
	if res.ExitCode != 0 && res.Stdout == "" {
		return nil, false, fmt.Errorf("find in %s failed: %s", f.t.display(tg.repo, tg.rel), strings.TrimSpace(res.Stderr))
	}
	var out []string
	for line := range strings.Lines(res.Stdout) {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "[… ") {
			// Blank lines and the output capture's "[… N bytes omitted …]".
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		out = append(out, rel)
	}
	return out, res.Truncated, nil
}

// globMatch matches a glob against a path relative to the search
// directory: with a "/" against the whole path, without one against the
// base name, as the sandbox's grep globs do.
func globMatch(glob, rel string) bool {
	if strings.Contains(glob, "/") {
		ok, _ := doublestar.Match(strings.TrimPrefix(glob, "/"), rel)
		return ok
	}
	ok, _ := doublestar.Match(glob, path.Base(rel))
	return ok
}

type grep struct{ t *Toolset }

func (g grep) Def() llm.ToolDef {
	return llm.ToolDef{
		Name: "grep",
		Description: "Search file contents for a regular expression (RE2/ripgrep syntax). Modes: content (matching lines, " +
			"the default), files (paths with a match), counts (matches per file).",
		Parameters: schema([]string{"pattern"},
			str("pattern", "The regular expression."),
			str("path", g.t.pathHelp("The directory or file to search (default: the root)")),
			str("glob", "Only search files matching this glob, e.g. \"*.go\" or \"src/**/*.ts\"."),
			enum("output_mode", "What to report.", "content", "files", "counts"),
			integer("context_lines", "Lines of context around each match (content mode)."),
			boolean("case_insensitive", "Ignore case."),
			integer("head_limit", "Report at most this many entries (default 1000).")),
	}
}

func (g grep) Call(ctx context.Context, args json.RawMessage) (string, error) {
	var a struct {
		Pattern         string `json:"pattern"`
		Path            string `json:"path"`
		Glob            string `json:"glob"`
		OutputMode      string `json:"output_mode"`
		ContextLines    int    `json:"context_lines"`
		CaseInsensitive bool   `json:"case_insensitive"`
		HeadLimit       int    `json:"head_limit"`
	}
	if err := llm.DecodeArgs(args, &a); err != nil {
		return "", err
	}
	if a.Pattern == "" {
		return "", errors.New("pattern is required")
	}
	targets, err := g.t.scope(a.Path)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, tg := range targets {
		res, err := sandbox.Grep(ctx, tg.sb, sandbox.GrepRequest{Pattern: a.Pattern, Path: tg.rel, Glob: a.Glob, Mode: sandbox.GrepMode(a.OutputMode),
			ContextLines: max(a.ContextLines, 0), CaseInsensitive: a.CaseInsensitive, HeadLimit: max(a.HeadLimit, 0)})
		if err != nil {
			return "", sandboxErr(err)
		}
		g.format(&b, tg.repo, res)
	}
	if b.Len() == 0 {
		return "no matches", nil
	}
	return b.String(), nil
}

func (g grep) format(b *strings.Builder, repo string, res sandbox.GrepResult) {
	for _, m := range res.Matches {
		sep := ":"
		if m.Context {
			sep = "-"
		}
		fmt.Fprintf(b, "%s%s%d%s %s\n", g.t.display(repo, m.Path), sep, m.Line, sep, m.Text)
	}
	for _, f := range res.Files {
		b.WriteString(g.t.display(repo, f) + "\n")
	}
	for _, c := range res.Counts {
		fmt.Fprintf(b, "%s: %d\n", g.t.display(repo, c.Path), c.Count)
	}
	if res.Truncated {
		b.WriteString("[results cut at head_limit; narrow the search]\n")
	}
}
