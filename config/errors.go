package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem in a config file: where it is and what is wrong.
type FieldError struct {
	// Source names the file (or ConfigMap) the config came from.
	Source string
	// Path is the key path, e.g. trackers.acme-platform.webhook_secret;
	// empty for problems of the document as a whole.
	Path string
	// Line is 1-based; 0 when the problem has no place in the file.
	Line    int
	Message string
	// Err is the underlying error, if any (reading the file).
	Err error
}

// Error renders the problem as `source:line: path: message`.
func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap returns the underlying error.
func (e FieldError) Unwrap() error { return e.Err }

// Errors is every problem found in one config, in file order. Load and
// Parse return it as their error.
type Errors []FieldError

// Error renders one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (e Errors) Unwrap() []error {
	errs := make([]error, len(e))
	for i, fe := range e {
		errs[i] = fe
	}
	return errs
}
