package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// expand returns the scalar's value with environment references expanded,
// or false after recording why it could not be expanded.
func (l *loader) expand(n *yaml.Node, path string) (string, bool) {
	if !strings.Contains(n.Value, "$") {
		return n.Value, true
	}
	l.raw[path] = n.Value
	s, problems := expandVars(n.Value, l.env)
	for _, p := range problems {
		l.errorAt(path, n.Line, "%s", p)
	}
	return s, len(problems) == 0
}

// expandVars replaces ${VAR} with the variable's value and ${VAR:-text}
// with the value or, when VAR is unset or empty, the literal text. $$ is a
// literal $; any other $ is kept as written, so values like `^v\d+$` need no
// escaping. It returns one problem per unset variable or malformed
// reference; problems never contain values.
func expandVars(s string, lookup func(string) (string, bool)) (string, []string) {
	var b strings.Builder
	var problems []string
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), problems
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
			continue
		case '{':
		default:
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			problems = append(problems, `unterminated "${" (write "$$" for a literal "$")`)
			return b.String(), problems
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		name, fallback, hasFallback := strings.Cut(ref, ":-")
		if !validVarName(name) {
			problems = append(problems, fmt.Sprintf("%q is not a valid variable reference (want ${NAME} or ${NAME:-default})", "${"+truncate(ref, 40)+"}"))
			continue
		}
		v, ok := lookup(name)
		switch {
		case hasFallback && v == "":
			b.WriteString(fallback)
		case ok:
			b.WriteString(v)
		default:
			problems = append(problems, name+" is not set")
		}
	}
}

func validVarName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		alpha := c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
		if !alpha && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
