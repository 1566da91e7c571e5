// Package cmdline is how agent-smith's commands read their command line:
// flags written -name or --name, defaults from the environment, help on -h
// with status 0, bad input named with status 2. Both binaries use it: the
// orchestrator (internal/cli) and the slim sandbox agent
// (sandbox/cmd/agent-smith-agent), so it imports nothing of the project.
package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Command is one command's flags and help. Every command parses its
// arguments through one, so all behave alike: -h and --help print the help
// on stdout and end with status 0; a bad flag prints what is wrong and the
// help on stderr and ends with status 2; a flag may be written -name or
// --name; the config file is -c, --config or -f wherever a command reads
// one. The help is the summary, the synopsis, the flags (rendered from the
// flag set, so a new flag documents itself) and the notes.
type Command struct {
	name     string // as typed after agent-smith: "config validate"
	synopsis string // after the name: "--project P --ticket T [flags]"
	summary  string // what the command does, one paragraph
	Notes    string // environment, exit status: anything after the flags
	FS       *flag.FlagSet
	// aliases maps a flag to its other names; shown maps a flag to the
	// default its help names instead of the value (an environment
	// variable's, which may be a credential).
	aliases map[string][]string
	shown   map[string]string
	fromEnv map[string]string
	env     Env
	stdout  io.Writer
	stderr  io.Writer
}

// New is the command name (as typed after agent-smith) with its synopsis
// and summary, reading defaults from env.
func New(name, synopsis, summary string, env Env, stdout, stderr io.Writer) *Command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // Parse prints the help itself, to the right stream
	return &Command{name: name, synopsis: synopsis, summary: summary, FS: fs,
		aliases: map[string][]string{}, shown: map[string]string{}, fromEnv: map[string]string{},
		env: env, stdout: stdout, stderr: stderr}
}

// ConfigFlag is -c/--config/-f FILE, default $AGENTSMITH_CONFIG.
func (c *Command) ConfigFlag(p *string) {
	c.FS.StringVar(p, "config", "", "read the configuration from `FILE` (agentsmith.yml)")
	c.Alias("config", "c", "f")
	c.EnvDefault("config", "AGENTSMITH_CONFIG")
}

// Alias gives flag name more names.
func (c *Command) Alias(name string, aliases ...string) {
	f := c.FS.Lookup(name)
	for _, a := range aliases {
		c.FS.Var(f.Value, a, f.Usage)
	}
	c.aliases[name] = append(c.aliases[name], aliases...)
}

// EnvDefault makes variable the default of flag name when the command
// line does not set it; the help shows $VARIABLE, never its value.
func (c *Command) EnvDefault(name, variable string) {
	c.fromEnv[name] = variable
	c.shown[name] = "$" + variable
}

// Parse parses args. Its error ends the command: status 0 after -h,
// 2 after a bad flag or argument.
func (c *Command) Parse(args []string) error {
	err := c.FS.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = io.WriteString(c.stdout, c.Help())
		return ExitError(0)
	}
	if err != nil { // the flag package has said what is wrong
		_, _ = io.WriteString(c.stderr, "\n"+c.Help())
		return ExitError(2)
	}
	set := map[string]bool{}
	c.FS.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, variable := range c.fromEnv {
		if set[name] || slices.ContainsFunc(c.aliases[name], func(a string) bool { return set[a] }) {
			continue
		}
		if v := c.env.Get(variable); v != "" {
			if err := c.FS.Set(name, v); err != nil {
				return c.UsageError("$%s: %v", variable, err)
			}
		}
	}
	return nil
}

// UsageError tells the user what is wrong with the command line and ends
// the command with status 2.
func (c *Command) UsageError(format string, a ...any) error {
	return ExitWith(c.stderr, 2, "%s: %s (see agent-smith %s -h)", c.name, fmt.Sprintf(format, a...), c.name)
}

// Help is the command's help text.
func (c *Command) Help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\nUsage:\n  agent-smith %s %s\n", c.summary, c.name, c.synopsis)
	if rows := c.flagRows(); len(rows) > 0 {
		width := 0
		for _, r := range rows {
			width = max(width, len(r[0]))
		}
		width = min(width, 30)
		b.WriteString("\nFlags:\n")
		for _, r := range rows {
			lines := wrap(r[1], helpWidth-4-width)
			if len(r[0]) > width {
				fmt.Fprintf(&b, "  %s\n", r[0])
			} else {
				fmt.Fprintf(&b, "  %-*s  %s\n", width, r[0], lines[0])
				lines = lines[1:]
			}
			for _, l := range lines {
				fmt.Fprintf(&b, "  %*s  %s\n", width, "", l)
			}
		}
	}
	if c.Notes != "" {
		b.WriteString("\n" + c.Notes)
	}
	return b.String()
}

// helpWidth is the width the flags' descriptions are wrapped to.
const helpWidth = 96

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// flagRows are the flags' names ("-c, -f, --config FILE") and descriptions.
func (c *Command) flagRows() [][2]string {
	isAlias := map[string]bool{}
	for _, as := range c.aliases {
		for _, a := range as {
			isAlias[a] = true
		}
	}
	var rows [][2]string
	c.FS.VisitAll(func(f *flag.Flag) {
		if isAlias[f.Name] {
			return
		}
		valueName, usage := flag.UnquoteUsage(f)
		switch valueName {
		case "string":
			valueName = "VALUE"
		case "int":
			valueName = "N"
		}
		names := []string{}
		for _, a := range c.aliases[f.Name] {
			names = append(names, "-"+a)
		}
		names = append(names, "--"+f.Name)
		if len(f.Name) == 1 {
			names[len(names)-1] = "-" + f.Name
		}
		left := strings.Join(names, ", ")
		if valueName != "" {
			left += " " + strings.ToUpper(valueName)
		}
		def, ok := c.shown[f.Name]
		if !ok && !slices.Contains([]string{"", "0", "false", "0s"}, f.DefValue) {
			def = f.DefValue
		}
		if def != "" {
			usage += " (default " + def + ")"
		}
		rows = append(rows, [2]string{left, usage})
	})
	return rows
}
