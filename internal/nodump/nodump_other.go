//go:build !linux

package nodump

// Apply does nothing outside Linux, which has no PR_SET_DUMPABLE; the
// sandbox backends that rely on it run on Linux.
func Apply() error { return nil }

// Dumpable is true outside Linux: nothing was changed.
func Dumpable() (bool, error) { return true, nil }
