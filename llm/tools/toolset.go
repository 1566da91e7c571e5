package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/sandbox"
)

// Options bound what the tools do.
type Options struct {
	// CommandTimeout is run_command's default timeout; MaxCommandTimeout
	// caps what the model may ask for.
	CommandTimeout    time.Duration
	MaxCommandTimeout time.Duration
	// OutputBytes caps the command output handed back to the model
	// (stdout and stderr together): the first and last parts are kept.
	OutputBytes int
	// Secrets are values (the sandbox's git token, say) cut out of every
	// tool result before the model, a log or a recording sees it. Values
	// shorter than 4 bytes are ignored: they would garble ordinary text.
	Secrets []string
}

// OptionsFor reads the command limits of the `limits` block.
func OptionsFor(l config.Limits) Options {
	return Options{
		CommandTimeout:    time.Duration(l.CommandTimeoutSeconds) * time.Second,
		MaxCommandTimeout: time.Duration(l.MaxCommandTimeoutSeconds) * time.Second,
		OutputBytes:       l.CommandOutputBytes,
	}
}

// Toolset is the tools over the sandboxes of one run.
type Toolset struct {
	repos map[string]sandbox.Sandbox
	names []string
	opts  Options
	// secrets are opts.Secrets worth removing, longest first, so that a
	// secret containing another is removed whole.
	secrets []string
}

// New returns the tools over sandboxes, keyed by repository name.
func New(sandboxes map[string]sandbox.Sandbox, opts Options) (*Toolset, error) {
	if len(sandboxes) == 0 {
		return nil, errors.New("tools need at least one sandbox")
	}
	for name := range sandboxes {
		if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
			return nil, fmt.Errorf("repository name %q cannot prefix paths", name)
		}
	}
	if opts.CommandTimeout <= 0 {
		opts.CommandTimeout = time.Minute
	}
	if opts.MaxCommandTimeout < opts.CommandTimeout {
		opts.MaxCommandTimeout = opts.CommandTimeout
	}
	t := &Toolset{repos: sandboxes, names: slices.Sorted(maps.Keys(sandboxes)), opts: opts}
	for _, s := range opts.Secrets {
		if len(s) >= 4 {
			t.secrets = append(t.secrets, s)
		}
	}
	slices.SortFunc(t.secrets, func(a, b string) int { return len(b) - len(a) })
	return t, nil
}

// ReadOnly is the tools that look but do not change anything: for
// planning and review.
func (t *Toolset) ReadOnly() []llm.Tool {
	return t.redacted(readFile{t}, listDirectory{t}, directoryTree{t}, findFiles{t}, grep{t})
}

// Full is every tool: for execution.
func (t *Toolset) Full() []llm.Tool {
	return append(t.ReadOnly(), t.redacted(writeFile{t}, editFile{t}, runCommand{t})...)
}

func (t *Toolset) redacted(tools ...llm.Tool) []llm.Tool {
	if len(t.secrets) == 0 {
		return tools
	}
	for i, tl := range tools {
		tools[i] = redacting{Tool: tl, secrets: t.secrets}
	}
	return tools
}

// redacting removes secrets from a tool's results and errors.
type redacting struct {
	llm.Tool
	secrets []string
}

func (r redacting) Call(ctx context.Context, args json.RawMessage) (string, error) {
	out, err := r.Tool.Call(ctx, args)
	out = r.scrub(out)
	if _, halt := errors.AsType[*llm.HaltError](err); err != nil && !halt && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		err = errors.New(r.scrub(err.Error()))
	}
	return out, err
}

func (r redacting) scrub(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "<redacted>")
	}
	return s
}

func (t *Toolset) multi() bool { return len(t.names) > 1 }

// target is a path resolved to its repository.
type target struct {
	repo string
	sb   sandbox.Sandbox
	// rel is the path inside the repository ("" for its root).
	rel string
}

// display is the path as the model writes it.
func (t *Toolset) display(repo, rel string) string {
	rel = strings.TrimPrefix(rel, "./")
	if !t.multi() {
		return rel
	}
	if rel == "" || rel == "." {
		return repo
	}
	return repo + "/" + rel
}

// resolve maps a model path to its repository. On a multi-repo run the
// first segment names the repository.
func (t *Toolset) resolve(p string) (target, error) {
	if !t.multi() {
		return target{repo: t.names[0], sb: t.repos[t.names[0]], rel: p}, nil
	}
	clean := strings.TrimPrefix(path.Clean("/"+strings.TrimSpace(p)), "/")
	repo, rel, _ := strings.Cut(clean, "/")
	sb, ok := t.repos[repo]
	if !ok {
		return target{}, fmt.Errorf("path %q does not start with a repository name; this run has %s, so write e.g. %q",
			p, strings.Join(t.names, ", "), t.names[0]+"/"+clean)
	}
	return target{repo: repo, sb: sb, rel: rel}, nil
}

// scope resolves a directory argument: an empty path on a multi-repo run
// means every repository.
func (t *Toolset) scope(p string) ([]target, error) {
	if t.multi() && (strings.Trim(strings.TrimSpace(p), "./") == "") {
		out := make([]target, 0, len(t.names))
		for _, n := range t.names {
			out = append(out, target{repo: n, sb: t.repos[n]})
		}
		return out, nil
	}
	tg, err := t.resolve(p)
	if err != nil {
		return nil, err
	}
	return []target{tg}, nil
}

// repo resolves run_command's repo argument.
func (t *Toolset) repo(name string) (target, error) {
	if name == "" {
		if t.multi() {
			return target{}, fmt.Errorf("this run has several repositories (%s): name the one to run in with repo", strings.Join(t.names, ", "))
		}
		name = t.names[0]
	}
	sb, ok := t.repos[name]
	if !ok {
		return target{}, fmt.Errorf("unknown repo %q; this run has %s", name, strings.Join(t.names, ", "))
	}
	return target{repo: name, sb: sb}, nil
}

// sandboxErr sorts a sandbox error: a refusal is the model's to read,
// anything else means the sandbox no longer answers and halts the loop.
func sandboxErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*sandbox.StepError](err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return llm.Halt(err)
}

// schema builds a tool's JSON Schema from its properties.
func schema(required []string, props ...prop) json.RawMessage {
	p := map[string]any{}
	for _, pr := range props {
		p[pr.name] = pr.spec
	}
	s := map[string]any{"type": "object", "properties": p}
	if len(required) > 0 {
		s["required"] = required
	}
	data, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("tool schema: %v", err)) // static data: a bug, not an input
	}
	return data
}

type prop struct {
	name string
	spec map[string]any
}

func str(name, desc string) prop {
	return prop{name, map[string]any{"type": "string", "description": desc}}
}

func integer(name, desc string) prop {
	return prop{name, map[string]any{"type": "integer", "description": desc}}
}

func boolean(name, desc string) prop {
	return prop{name, map[string]any{"type": "boolean", "description": desc}}
}

func enum(name, desc string, values ...string) prop {
	return prop{name, map[string]any{"type": "string", "description": desc, "enum": values}}
}

// pathHelp is how path arguments are described to the model.
func (t *Toolset) pathHelp(what string) string {
	if t.multi() {
		return what + ", starting with the repository name (" + strings.Join(t.names, ", ") + ")"
	}
	return what + ", relative to the repository root"
}
