package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Inject copies the agent binary at path to dst with mode 0755, through a
// temporary file and a rename so that a half-written copy is never run.
func Inject(path, dst string) error {
	src, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open the agent: %w", err)
	}
	defer func() { _ = src.Close() }() // read only: nothing to lose
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".inject-*")
	if err != nil {
		return fmt.Errorf("create copy next to %s: %w", dst, err)
	}
	_, err = io.Copy(tmp, src)
	err = errors.Join(err, tmp.Chmod(0o755), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("install %s: %w", dst, err)
	}
	return nil
}
