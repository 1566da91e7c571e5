package config

import (
	"strings"
	"testing"
)

func TestExpandVars(t *testing.T) {
	env := map[string]string{"A": "alpha", "EMPTY": ""}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	cases := []struct {
		in, want string
		problem  string
	}{
		{"${A}", "alpha", ""},
		{"x-${A}-y", "x-alpha-y", ""},
		{"$$", "$", ""},
		{"$${A}", "${A}", ""},
		{"cost $5, regex ^v\\d+$", "cost $5, regex ^v\\d+$", ""},
		{"$", "$", ""},
		{"${EMPTY}", "", ""},
		{"${EMPTY:-fallback}", "fallback", ""},
		{"${UNSET:-fallback}", "fallback", ""},
		{"${A:-fallback}", "alpha", ""},
		{"${UNSET}", "", "UNSET is not set"},
		{"${A", "", `unterminated "${"`},
		{"${1A}", "", "not a valid variable reference"},
		{"${}", "", "not a valid variable reference"},
	}
	for _, tc := range cases {
		got, problems := expandVars(tc.in, lookup)
		if tc.problem == "" {
			if len(problems) > 0 || got != tc.want {
				t.Errorf("expandVars(%q) = %q, %v; want %q", tc.in, got, problems, tc.want)
			}
			continue
		}
		if len(problems) != 1 || !strings.Contains(problems[0], tc.problem) {
			t.Errorf("expandVars(%q) problems = %v, want one containing %q", tc.in, problems, tc.problem)
		}
	}
}
