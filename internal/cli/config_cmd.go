package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/agent-smith/agent-smith/config"
)

const configUsage = `Usage:
  agent-smith config validate [-f FILE]   check agentsmith.yml and summarise it
  agent-smith config print [-f FILE]      print the resolved config, secrets redacted

FILE defaults to $AGENTSMITH_CONFIG.
`

// runConfig implements `agent-smith config validate|print`.
func runConfig(args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return exitError(2)
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "validate":
		cfg, err := loadConfigForCommand(cmd, rest, env, stderr)
		if err != nil {
			return err
		}
		cfg.WriteSummary(stdout)
		return nil
	case "print":
		cfg, err := loadConfigForCommand(cmd, rest, env, stderr)
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
		return exitError(2)
	}
}

// loadConfigForCommand parses the command's flags and loads the config. A
// config with problems is reported on stderr, one line per problem and a
// count, and ends the command with status 1.
func loadConfigForCommand(cmd string, args []string, env Env, stderr io.Writer) (*config.Config, error) {
	fs := flag.NewFlagSet("config "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "path of agentsmith.yml (default $AGENTSMITH_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "config %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return nil, exitError(2)
	}
	path := *file
	if path == "" {
		path = env.Get("AGENTSMITH_CONFIG")
	}
	if path == "" {
		fmt.Fprintf(stderr, "config %s: no config file: pass -f FILE or set AGENTSMITH_CONFIG\n", cmd)
		return nil, exitError(2)
	}
	// An empty variable counts as unset here: an empty credential is an
	// error an operator checking a config wants to hear about.
	lookup := func(name string) (string, bool) {
		v, ok := env(name)
		return v, ok && v != ""
	}
	cfg, err := config.Load(path, lookup, configKinds())
	if err == nil {
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
	return nil, exitError(1)
}
