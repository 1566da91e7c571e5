package agent

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// openRegular opens rel for reading, and refuses anything but a regular
// file: a named pipe or a device would block the agent or never end. It
// opens without blocking (a FIFO's open waits for a writer) and decides on
// what it opened, so the file cannot be swapped in between. shown is the
// path the step named, for messages.
func (w *workspace) openRegular(rel, shown string) (*os.File, fs.FileInfo, error) {
	f, err := w.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", shown, unwrapPath(err))
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		err = fmt.Errorf("read %s: %w", shown, err)
	case fi.IsDir():
		err = fmt.Errorf("%s is a directory: list it instead", shown)
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("%s is %s, not a regular file", shown, fileKind(fi.Mode()))
	}
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// fileKind names what a file that is not a regular one is.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsDir():
		return "a directory"
	}
	return "a special file"
}
