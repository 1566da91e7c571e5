package agent

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/agent-smith/agent-smith/sandbox"
)

// skipDirs are shown by listings but never descended into, and never
// searched: version control, dependencies, build output, caches.
var skipDirs = map[string]bool{
	".git": true, "node_modules": true, "vendor": true, "bin": true, "obj": true, "dist": true,
	"build": true, "target": true, "__pycache__": true, ".venv": true,
}

// Entry caps of the walking kinds.
const (
	listCap = 1000
	treeCap = 2000
)

// globMatch reports whether a glob matches a work-root-relative path: a
// glob with a "/" matches the whole path, one without matches the base
// name at any depth, as .gitignore and ripgrep globs do.
func globMatch(glob, rel string) bool {
	if strings.Contains(glob, "/") {
		ok, _ := doublestar.Match(strings.TrimPrefix(glob, "/"), rel)
		return ok
	}
	ok, _ := doublestar.Match(glob, path.Base(rel))
	return ok
}

func excluded(globs []string, rel string) bool {
	for _, g := range globs {
		if globMatch(g, rel) {
			return true
		}
	}
	return false
}

// walk visits the tree under start (work-root-relative, slash separated)
// to maxDepth levels below it, without following symlinks; visit returns
// false to stop descending into a directory.
func (x *executor) walk(ctx context.Context, start string, maxDepth int, visit func(rel string, d fs.DirEntry, depth int) (descend bool, err error)) error {
	fsys := x.ws.root.FS()
	base := filepath.ToSlash(start)
	return fs.WalkDir(fsys, base, func(p string, d fs.DirEntry, err error) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err != nil {
			if p == base {
				return err
			}
			return nil // unreadable entry: leave it out
		}
		if p == base {
			if !d.IsDir() {
				return fmt.Errorf("%s is not a directory", start)
			}
			return nil
		}
		depth := strings.Count(strings.TrimPrefix(p, base+"/"), "/") + 1
		if base == "." {
			depth = strings.Count(p, "/") + 1
		}
		descend, err := visit(p, d, depth)
		if err != nil {
			return err
		}
		if d.IsDir() && (!descend || depth >= maxDepth) {
			return fs.SkipDir
		}
		return nil
	})
}

func (x *executor) listFiles(ctx context.Context, step sandbox.Step) (sandbox.StepResult, error) {
	var res sandbox.StepResult
	start, err := x.ws.rel(step.Path)
	if err != nil {
		return res, err
	}
	depth := step.MaxDepth
	if depth == 0 {
		depth = 1
	}
	listing := sandbox.Listing{Entries: []sandbox.FileEntry{}}
	err = x.walk(ctx, start, depth, func(rel string, d fs.DirEntry, _ int) (bool, error) {
		if len(listing.Entries) == listCap {
			listing.Truncated = true
			return false, fs.SkipAll
		}
		e := sandbox.FileEntry{Path: rel, IsDir: d.IsDir(), Skipped: d.IsDir() && skipDirs[d.Name()]}
		if step.WithSizes && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size := fi.Size()
				e.Size = &size
			}
		}
		listing.Entries = append(listing.Entries, e)
		return !e.Skipped, nil
	})
	if err != nil {
		return res, fmt.Errorf("list %s: %w", displayPath(step.Path), unwrapPath(err))
	}
	return jsonResult(listing, listing.Truncated)
}

func (x *executor) directoryTree(ctx context.Context, step sandbox.Step) (sandbox.StepResult, error) {
	var res sandbox.StepResult
	start, err := x.ws.rel(step.Path)
	if err != nil {
		return res, err
	}
	depth := step.MaxDepth
	if depth == 0 {
		depth = 4
	}
	var b strings.Builder
	b.WriteString(filepath.ToSlash(start) + "/\n")
	lines := 0
	err = x.walk(ctx, start, depth, func(rel string, d fs.DirEntry, level int) (bool, error) {
		if excluded(step.ExcludeGlobs, rel) {
			return false, nil
		}
		if lines == treeCap {
			res.Truncated = true
			fmt.Fprintf(&b, "… cut at %d entries\n", treeCap)
			return false, fs.SkipAll
		}
		lines++
		b.WriteString(strings.Repeat("  ", level))
		b.WriteString(d.Name())
		switch {
		case d.IsDir() && skipDirs[d.Name()]:
			b.WriteString("/ (not expanded)\n")
			return false, nil
		case d.IsDir():
			b.WriteString("/\n")
		case d.Type()&fs.ModeSymlink != 0:
			b.WriteString(" (symlink)\n")
		default:
			b.WriteString("\n")
		}
		return true, nil
	})
	if err != nil {
		return res, fmt.Errorf("tree of %s: %w", displayPath(step.Path), unwrapPath(err))
	}
	res.OutputContent = b.String()
	return res, nil
}

func displayPath(p string) string {
	if p == "" {
		return "the work root"
	}
	return p
}
