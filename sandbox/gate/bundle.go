package gate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/agent-smith/agent-smith/sandbox"
)

// copyBundle copies the workspace's push bundle into the gate's directory
// and returns the copy's path. The workspace is the attacker's: the file
// is opened inside the work root without following a link, without
// blocking on a FIFO, and must be a regular file within MaxBundleBytes.
func (g *Gate) copyBundle() (string, error) {
	root, err := os.OpenRoot(g.opts.WorkRoot)
	if err != nil {
		return "", fmt.Errorf("gate: open the workspace: %w", err)
	}
	defer func() { _ = root.Close() }()
	src, err := root.OpenFile(sandbox.PushBundle, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("the push bundle %s cannot be opened (it must be a file, not a link): %w", sandbox.PushBundle, err)
	}
	defer func() { _ = src.Close() }()
	fi, err := src.Stat()
	switch {
	case err != nil:
		return "", fmt.Errorf("the push bundle: %w", err)
	case !fi.Mode().IsRegular():
		return "", fmt.Errorf("the push bundle %s is not a regular file", sandbox.PushBundle)
	case fi.Size() > g.opts.MaxBundleBytes:
		return "", fmt.Errorf("the push bundle has %d bytes, over the %d-byte limit", fi.Size(), g.opts.MaxBundleBytes)
	}
	dst := filepath.Join(g.opts.Dir, "incoming.bundle")
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("gate: %w", err)
	}
	// The file may grow after the stat: the copy stops at the limit.
	n, err := io.Copy(out, io.LimitReader(src, g.opts.MaxBundleBytes+1))
	err = errors.Join(err, out.Close())
	if err == nil && n > g.opts.MaxBundleBytes {
		err = fmt.Errorf("the push bundle grew over the %d-byte limit", g.opts.MaxBundleBytes)
	}
	if err != nil {
		_ = os.Remove(dst)
		return "", fmt.Errorf("copy the push bundle: %w", err)
	}
	return dst, nil
}
