package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// workspace confines every path of a step to the work root. Lexical escapes
// (.., absolute paths elsewhere) are refused here; symlinks that lead out
// are refused by os.Root, which resolves each component inside the root and
// never follows a link to outside (nor an absolute one).
type workspace struct {
	dir  string // absolute, clean
	root *os.Root
}

func openWorkspace(dir string) (*workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("work root %s: %w", dir, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open work root: %w", err)
	}
	return &workspace{dir: abs, root: root}, nil
}

// close releases the root's directory handle; nothing was written
// through it that a close could lose.
func (w *workspace) close() { _ = w.root.Close() }

// rel turns a step's path into a clean path relative to the work root
// ("." for the root itself), or refuses it.
func (w *workspace) rel(p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if filepath.IsAbs(p) {
		r, err := filepath.Rel(w.dir, filepath.Clean(p))
		if err != nil || escapes(r) {
			return "", fmt.Errorf("path %q is outside the work root %s", p, w.dir)
		}
		return r, nil
	}
	c := filepath.Clean(p)
	if escapes(c) {
		return "", fmt.Errorf("path %q is outside the work root %s", p, w.dir)
	}
	return c, nil
}

func escapes(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// dirPath is the absolute path of a directory inside the root, for
// processes that need a real path (a command's working directory, rg).
func (w *workspace) dirPath(p string) (string, error) {
	rel, err := w.rel(p)
	if err != nil {
		return "", err
	}
	fi, err := w.root.Stat(rel)
	switch {
	case os.IsNotExist(err):
		return "", fmt.Errorf("directory %q does not exist", p)
	case err != nil:
		return "", fmt.Errorf("directory %q: %w", p, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%q is not a directory", p)
	}
	return filepath.Join(w.dir, rel), nil
}
