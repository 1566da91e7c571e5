package cmdline

import (
	"errors"
	"fmt"
	"io"
)

// Env is the environment a command sees: the process's in main, a map in
// tests. Configuration (${VAR} in agentsmith.yml), flags' defaults and the
// connection settings all come from it.
type Env func(name string) (value string, ok bool)

// Get is the variable's value, empty when it is unset.
func (e Env) Get(name string) string {
	v, _ := e(name)
	return v
}

// ExitError ends the process with a status code after the command has
// already told the user what went wrong.
type ExitError int

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitWith tells the user what went wrong and ends the command with code.
func ExitWith(stderr io.Writer, code int, format string, args ...any) error {
	_, _ = fmt.Fprintf(stderr, format+"\n", args...)
	return ExitError(code)
}

// ExitCode is the process exit status for a command's error. An error the
// command has not already told the user about is written to stderr after
// the program's name.
func ExitCode(err error, program string, stderr io.Writer) int {
	var exit ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return int(exit)
	default:
		fmt.Fprintf(stderr, "%s: %v\n", program, err)
		return 1
	}
}
