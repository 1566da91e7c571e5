package kubelet

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// expand replaces $(VAR) in s by its value in env, as the kubelet does for
// command, args and env values: $$ is a literal $, a reference to an
// unknown variable is left as written.
func expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// mounts maps a container's mount paths to the directories that back them.
type mounts map[string]string

// path returns p with a mount path prefix replaced by its directory; paths
// outside every mount stay as they are. The longest mount path wins.
func (m mounts) path(p string) string {
	paths := make([]string, 0, len(m))
	for mp := range m {
		paths = append(paths, mp)
	}
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for _, mp := range paths {
		if p == mp || strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/") {
			return filepath.Join(m[mp], strings.TrimPrefix(p, mp))
		}
	}
	return p
}

// output keeps the tail of a process's stdout and stderr.
type output struct {
	mu  sync.Mutex
	buf []byte
}

const outputCap = 64 << 10

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	if over := len(o.buf) - outputCap; over > 0 {
		o.buf = append(o.buf[:0:0], o.buf[over:]...)
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.buf)
}

// terminationMessage is what a kubelet reports for a container whose
// terminationMessagePolicy is FallbackToLogsOnError and that failed: the
// last 80 lines, at most 2048 bytes, of its log.
func (o *output) terminationMessage() string {
	s := strings.TrimRight(o.String(), "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	s = strings.Join(lines, "\n")
	if len(s) > 2048 {
		s = s[len(s)-2048:]
	}
	return s
}

// configError is a container the kubelet cannot start as specified
// (CreateContainerConfigError).
type configError struct{ msg string }

func (e configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error { return configError{fmt.Sprintf(format, args...)} }
