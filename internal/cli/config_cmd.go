package cli

import (
	"errors"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/internal/cmdline"
)

const configUsage = `agent-smith config checks and shows agentsmith.yml.

Usage:
  agent-smith config validate [-c FILE]   check agentsmith.yml and summarise it
  agent-smith config print [-c FILE]      print the resolved config, secrets redacted

FILE defaults to $AGENTSMITH_CONFIG. Run "agent-smith config COMMAND -h" for a command's flags.
`

// The config commands' help.
const (
	configValidateSummary = `agent-smith config validate checks agentsmith.yml as serve would load it: ${VAR} references
expanded from the environment (an empty variable is an error here), defaults applied,
every problem reported with file:line and key path. A valid file is summarised.`
	configPrintSummary = `agent-smith config print prints agentsmith.yml resolved: variables expanded, defaults
filled in, secrets redacted.`
	configNotes = `Exit status: 0 valid, 1 the file has problems (one line each on stderr), 2 bad usage.
`
)

// runConfig implements `agent-smith config validate|print`.
func runConfig(args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return cmdline.ExitError(2)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "validate":
		cfg, err := configCommand(cmd, configValidateSummary, rest, env, stdout, stderr)
		if err != nil {
			return err
		}
		cfg.WriteSummary(stdout)
		return nil
	case "print":
		cfg, err := configCommand(cmd, configPrintSummary, rest, env, stdout, stderr)
		if err != nil {
			return err
		}
		out, err := yaml.Marshal(cfg.Redacted())
		if err != nil {
			return fmt.Errorf("render config: %w", err)
		}
		_, err = stdout.Write(out)
		return err
	case "help", "-h", "--help":
		fmt.Fprint(stdout, configUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown config command %q\n\n%s", cmd, configUsage)
		return cmdline.ExitError(2)
	}
}

// configCommand parses the flags of `config CMD` and loads the config.
func configCommand(cmd, summary string, args []string, env Env, stdout, stderr io.Writer) (*config.Config, error) {
	c := cmdline.New("config "+cmd, "[-c FILE]", summary, env, stdout, stderr)
	c.Notes = configNotes
	var path string
	c.ConfigFlag(&path)
	if err := c.Parse(args); err != nil {
		return nil, err
	}
	if c.FS.NArg() > 0 {
		return nil, c.UsageError("unexpected argument %q", c.FS.Arg(0))
	}
	if path == "" {
		return nil, c.UsageError("no config file: pass -c FILE or set AGENTSMITH_CONFIG")
	}
	return loadConfig(path, env, stderr)
}

// loadConfig loads the config at path. A config with problems is reported
// on stderr, one line per problem and a count, and ends the command with
// status 1; its warnings (a model whose limits and price nobody knows) go
// to stderr too, and the command goes on.
func loadConfig(path string, env Env, stderr io.Writer) (*config.Config, error) {
	// An empty variable counts as unset here: an empty credential is an
	// error an operator checking a config wants to hear about.
	lookup := func(name string) (string, bool) {
		v, ok := env(name)
		return v, ok && v != ""
	}
	cfg, err := config.Load(path, lookup, configKinds())
	if err == nil {
		for _, w := range cfg.Warnings {
			fmt.Fprintln(stderr, "warning: "+w.Error())
		}
		return cfg, nil
	}
	var problems config.Errors
	if !errors.As(err, &problems) {
		return nil, err
	}
	for _, p := range problems {
		fmt.Fprintln(stderr, p.Error())
	}
	noun := "errors"
	if len(problems) == 1 {
		noun = "error"
	}
	fmt.Fprintf(stderr, "%d %s in %s\n", len(problems), noun, path)
	return nil, cmdline.ExitError(1)
}
