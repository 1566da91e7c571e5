package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agent-smith/agent-smith/internal/cmdline"
	"github.com/agent-smith/agent-smith/internal/console"
	"github.com/agent-smith/agent-smith/runs"
)

const runsUsage = `agent-smith runs shows and steers the runs of an orchestrator through its run API.

Usage:
  agent-smith runs list [flags]            the runs, newest first, every state
  agent-smith runs get ID [flags]          one run: state, ticket, plan, pull requests, cost, error
  agent-smith runs logs ID [-f] [flags]    the run's transcript; -f follows it until the run ends
  agent-smith runs cancel ID [flags]       call the run off (an admin token)
  agent-smith runs retry ID [flags]        a new attempt of a failed or cancelled run (an admin token)

The API is the orchestrator's (--server, default $AGENTSMITH_SERVER); from outside the cluster:
  kubectl -n agent-smith port-forward svc/agent-smith-orchestrator 8081
Run "agent-smith runs COMMAND -h" for a command's flags.
`

// defaultServer is where `kubectl port-forward` and `make run` put the
// run API.
const defaultServer = "http://localhost:8081"

// The exit statuses of `runs logs -f`, beyond 0 (succeeded), 1 and 2.
const (
	exitCancelled = 4
	exitAPI       = 5
)

const runsNotes = `Environment:
  AGENTSMITH_SERVER   the run API's base URL (default ` + defaultServer + `)
  AGENTSMITH_TOKEN    a token of the orchestrator's AGENTSMITH_API_TOKENS

Exit status: 0 done, 2 bad usage, 5 the API could not be reached or refused the request.
`

// runsCommand is one `runs` command's flags.
type runsCommand struct {
	*cmdline.Command
	name                  string
	stdout, stderr        io.Writer
	server, token, output string
}

func newRunsCommand(name, synopsis, summary string, env Env, stdout, stderr io.Writer) *runsCommand {
	c := &runsCommand{Command: cmdline.New("runs "+name, synopsis, summary, env, stdout, stderr),
		name: "runs " + name, stdout: stdout, stderr: stderr}
	c.Notes = runsNotes
	c.FS.StringVar(&c.server, "server", defaultServer, "the orchestrator's run API at `URL`")
	c.EnvDefault("server", "AGENTSMITH_SERVER")
	c.FS.StringVar(&c.token, "token", "", "authenticate with `TOKEN`")
	c.EnvDefault("token", "AGENTSMITH_TOKEN")
	c.FS.StringVar(&c.output, "output", "table", "print `FORMAT`: table (for people) or json")
	c.Alias("output", "o")
	return c
}

// parseID parses flags before and after the run id, which must be the
// only argument.
func (c *runsCommand) parseID(args []string) (string, error) {
	if err := c.Parse(args); err != nil {
		return "", err
	}
	if c.FS.NArg() == 0 {
		return "", c.UsageError("which run? pass its id (agent-smith runs list shows them)")
	}
	id := c.FS.Arg(0)
	if err := c.Parse(c.FS.Args()[1:]); err != nil {
		return "", err
	}
	if c.FS.NArg() > 0 {
		return "", c.UsageError("unexpected argument %q", c.FS.Arg(0))
	}
	return id, c.check()
}

// check validates the common flags.
func (c *runsCommand) check() error {
	if c.output != "table" && c.output != "json" {
		return c.UsageError("--output %q: want table or json", c.output)
	}
	if !strings.HasPrefix(c.server, "http://") && !strings.HasPrefix(c.server, "https://") {
		return c.UsageError("--server %q: want a URL such as %s", c.server, defaultServer)
	}
	return nil
}

func (c *runsCommand) client() *console.Client {
	return &console.Client{Server: c.server, Token: c.token}
}

// apiFailed reports an error of the API or of reaching it.
func (c *runsCommand) apiFailed(err error) error {
	var apiErr *console.APIError
	if errors.As(err, &apiErr) && apiErr.Status == 401 && c.token == "" {
		return cmdline.ExitWith(c.stderr, exitAPI, "%s: %s; pass --token or set AGENTSMITH_TOKEN", c.name, apiErr.Message)
	}
	return cmdline.ExitWith(c.stderr, exitAPI, "%s: %v", c.name, err)
}

func (c *runsCommand) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runRuns implements `agent-smith runs list|get|logs|cancel|retry`.
func runRuns(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, runsUsage)
		return cmdline.ExitError(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "list":
		return runsList(ctx, rest, env, stdout, stderr)
	case "get":
		return runsGet(ctx, rest, env, stdout, stderr)
	case "logs":
		return runsLogs(ctx, rest, env, stdout, stderr)
	case "cancel", "retry":
		return runsSteer(ctx, cmd, rest, env, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, runsUsage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown runs command %q\n\n%s", cmd, runsUsage)
	return cmdline.ExitError(2)
}

func runsList(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	c := newRunsCommand("list", "[flags]", "agent-smith runs list prints the runs of every state, newest first.", env, stdout, stderr)
	var states, project, ticket string
	var limit int
	var all bool
	c.FS.StringVar(&states, "state", "", "only runs in `STATES` (comma separated: queued,running,failed…)")
	c.FS.StringVar(&project, "project", "", "only runs of project `NAME`")
	c.FS.StringVar(&ticket, "ticket", "", "only runs of ticket `ID`")
	c.FS.IntVar(&limit, "limit", runs.DefaultPageSize, "print at most `N` runs")
	c.FS.BoolVar(&all, "all", false, "print every run (page through them all)")
	if err := c.Parse(args); err != nil {
		return err
	}
	if c.FS.NArg() > 0 {
		return c.UsageError("unexpected argument %q", c.FS.Arg(0))
	}
	if err := c.check(); err != nil {
		return err
	}
	f := runs.Filter{Project: project, Ticket: ticket, Limit: min(limit, runs.MaxPageSize)}
	for s := range strings.SplitSeq(states, ",") {
		if s != "" {
			f.States = append(f.States, runs.State(s))
		}
	}
	var list []runs.Run
	for {
		page, err := c.client().List(ctx, f)
		if err != nil {
			return c.apiFailed(err)
		}
		list = append(list, page.Runs...)
		if page.Next == "" || (!all && len(list) >= limit) {
			break
		}
		f.Cursor = page.Next
	}
	if !all && len(list) > limit {
		list = list[:limit]
	}
	if c.output == "json" {
		return c.printJSON(list)
	}
	return printRunTable(stdout, list, time.Now())
}

func printRunTable(w io.Writer, list []runs.Run, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATE\tPROJECT\tTICKET\tAGE\tCOST\tTITLE")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t$%.4f\t%s\n", r.ID, r.State, r.Project, r.Ticket,
			ago(now, r.CreatedAt), r.Usage.CostUSD, trimTo(r.TicketTitle, 50))
	}
	if len(list) == 0 {
		fmt.Fprintln(tw, "(no runs)")
	}
	return tw.Flush()
}

// ago is how long before now t was, in its largest unit.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func trimTo(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func runsGet(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	c := newRunsCommand("get", "ID [flags]", "agent-smith runs get prints one run: its state, ticket, plan, pull requests, cost and error.", env, stdout, stderr)
	id, err := c.parseID(args)
	if err != nil {
		return err
	}
	r, err := c.client().Get(ctx, id)
	if err != nil {
		return c.apiFailed(err)
	}
	if c.output == "json" {
		return c.printJSON(r)
	}
	return printRun(stdout, r, time.Now())
}

// printRun writes a run for people, one fact a line.
func printRun(w io.Writer, r runs.Run, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	row("Run", "%s", r.ID)
	state := fmt.Sprintf("%s (attempt %d", r.State, r.Attempt)
	if r.Step != "" {
		state += ", step " + r.Step
	}
	row("State", "%s)", state)
	row("Project", "%s (pipeline %s)", r.Project, r.Pipeline)
	row("Ticket", "%s %s %s", r.Tracker, r.Ticket, r.TicketURL)
	if r.TicketTitle != "" {
		row("Title", "%s", r.TicketTitle)
	}
	if r.Trigger != "" {
		row("Trigger", "%s", r.Trigger)
	}
	row("Created", "%s (%s ago)", r.CreatedAt.Local().Format(time.DateTime), ago(now, r.CreatedAt))
	if !r.FinishedAt.IsZero() {
		row("Finished", "%s", r.FinishedAt.Local().Format(time.DateTime))
	}
	row("Usage", "$%.4f, %d input / %d output tokens", r.Usage.CostUSD, r.Usage.InputTokens, r.Usage.OutputTokens)
	for _, repo := range slices.Sorted(maps.Keys(r.PullRequests)) {
		row("Pull request", "%s %s", repo, r.PullRequests[repo])
	}
	for _, repo := range slices.Sorted(maps.Keys(r.Sandboxes)) {
		s := r.Sandboxes[repo]
		row("Sandbox", "%s: %s %s", repo, s.Phase, s.Reason)
	}
	if r.Error != "" {
		row("Error", "%s", r.Error)
	}
	if r.Cancel.By != "" {
		row("Cancelled", "by %s: %s", r.Cancel.By, r.Cancel.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Plan != "" {
		fmt.Fprintf(w, "\nPlan:\n  %s\n", strings.ReplaceAll(strings.TrimSpace(r.Plan), "\n", "\n  "))
	}
	return nil
}

const runsLogsNotes = `Environment:
  AGENTSMITH_SERVER   the run API's base URL (default ` + defaultServer + `)
  AGENTSMITH_TOKEN    a token of the orchestrator's AGENTSMITH_API_TOKENS

Exit status: 0 done (with -f: the run succeeded), 1 the run failed, 4 it was cancelled, 2 bad usage,
5 the API could not be reached or refused the request.
`

func runsLogs(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	c := newRunsCommand("logs", "ID [-f] [flags]", "agent-smith runs logs prints a run's transcript: its phases, model and tool calls, sandbox\n"+
		"commands and state changes, one line each. With -f it follows the run live, resuming if the\n"+
		"connection drops, until the run ends, and exits with the run's outcome.", env, stdout, stderr)
	c.Notes = runsLogsNotes
	var follow bool
	c.FS.BoolVar(&follow, "follow", false, "follow the run until it ends")
	c.Alias("follow", "f")
	id, err := c.parseID(args)
	if err != nil {
		return err
	}
	show := func(e runs.Entry) error {
		if c.output == "json" {
			data, err := json.Marshal(e)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s\n", data)
			return err
		}
		_, err := fmt.Fprintf(stdout, "%s  %s\n", e.Time.Local().Format("15:04:05"), e)
		return err
	}
	if follow {
		r, err := c.client().Follow(ctx, id, "", show)
		if err != nil {
			return c.apiFailed(err)
		}
		return outcome(r, stderr)
	}
	after := ""
	for {
		page, err := c.client().Events(ctx, id, after)
		if err != nil {
			return c.apiFailed(err)
		}
		for _, e := range page.Events {
			if err := show(e); err != nil {
				return err
			}
		}
		if len(page.Events) == 0 || page.Next == after {
			return nil
		}
		after = page.Next
	}
}

// outcome turns how a followed run ended into the exit status.
func outcome(r runs.Run, stderr io.Writer) error {
	switch r.State {
	case runs.StateSucceeded:
		return nil
	case runs.StateCancelled:
		return cmdline.ExitWith(stderr, exitCancelled, "run %s was cancelled by %s: %s", r.ID, r.Cancel.By, r.Cancel.Reason)
	}
	return cmdline.ExitWith(stderr, 1, "run %s %s: %s", r.ID, r.State, r.Error)
}

func runsSteer(ctx context.Context, cmd string, args []string, env Env, stdout, stderr io.Writer) error {
	summary := "agent-smith runs cancel calls a run off wherever it is (an admin token)."
	if cmd == "retry" {
		summary = "agent-smith runs retry queues a new attempt of a failed or cancelled run (an admin token)."
	}
	c := newRunsCommand(cmd, "ID [flags]", summary, env, stdout, stderr)
	var reason string
	if cmd == "cancel" {
		c.FS.StringVar(&reason, "reason", "", "why, kept on the run and in its log")
	}
	id, err := c.parseID(args)
	if err != nil {
		return err
	}
	var r runs.Run
	if cmd == "cancel" {
		r, err = c.client().Cancel(ctx, id, reason)
	} else {
		r, err = c.client().Retry(ctx, id)
	}
	if err != nil {
		return c.apiFailed(err)
	}
	if c.output == "json" {
		return c.printJSON(r)
	}
	_, err = fmt.Fprintf(stdout, "run %s is %s (attempt %d)\n", r.ID, r.State, r.Attempt)
	return err
}
