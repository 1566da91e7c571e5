// Package providers is the table of model provider types: it maps each
// agent type of agentsmith.yml to what config reads of its agents' blocks
// (config.ProviderKind) and to the constructor of its provider. It builds
// the llm.Model of an agent's model slot from the config: it picks the
// provider by the agent's type, reads the API key from the secrets the
// agent names, and wraps the provider in what makes every call bind the
// config's limits (the process-wide gate, the agent's retry and request
// timeout, recording). It imports every provider package, which is why it
// is not part of llm; adding a provider type is one package and one line
// in Builtin.
//
// It must not import runs, trackers, sandbox or controllers.
package providers

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"

	"github.com/agent-smith/agent-smith/config"
	"github.com/agent-smith/agent-smith/llm"
	"github.com/agent-smith/agent-smith/llm/catalog"
	"github.com/agent-smith/agent-smith/llm/scripted"
)

// Options are what the config does not say.
type Options struct {
	// RunID names the run in recordings and replaces {run} in record_to.
	RunID string
	// Gate bounds the model calls in flight across the process
	// (limits.max_concurrent_llm_calls); share one per process. Nil
	// means no bound.
	Gate *llm.Gate
	// HTTPClient makes the provider calls; nil means http.DefaultClient.
	// Request timeouts come from the agent's request_timeout_seconds.
	HTTPClient *http.Client
	// BaseDir resolves relative script and record_to paths (the config
	// file's directory); empty means the working directory.
	BaseDir string
}

// New returns the model of agentName's slot, built by the Builtin table.
func New(ctx context.Context, cfg *config.Config, agentName string, slot llm.Slot, opts Options) (*llm.Model, error) {
	return Builtin().New(ctx, cfg, agentName, slot, opts)
}

// New returns the model of agentName's slot.
func (tb Table) New(ctx context.Context, cfg *config.Config, agentName string, slot llm.Slot, opts Options) (*llm.Model, error) {
	m, err := tb.build(ctx, cfg, agentName, slot, opts)
	if err != nil {
		return nil, fmt.Errorf("model for agent %s, slot %s: %w", agentName, slot, err)
	}
	logr.FromContextOrDiscard(ctx).V(1).Info("model ready", "agent", agentName, "slot", string(slot), "model", m.Name,
		"contextWindow", m.ContextWindow, "maxOutputTokens", m.MaxOutputTokens, "priced", m.Price.Known, "summarizer", m.Summarizer != nil)
	return m, nil
}

func (tb Table) build(ctx context.Context, cfg *config.Config, agentName string, slot llm.Slot, opts Options) (*llm.Model, error) {
	agent, ok := cfg.Agents[agentName]
	if !ok {
		return nil, fmt.Errorf("no agent %q in the config", agentName)
	}
	entry, ok := tb[string(agent.Type)]
	if !ok {
		return nil, fmt.Errorf("unknown agent type %q", agent.Type)
	}
	sc, err := llm.SlotConfig(agent, slot)
	if err != nil {
		return nil, err
	}
	in := Spec{Agent: agent, Slot: sc, Which: slot, Options: opts}
	if agent.APIKeySecret != "" {
		if in.Key, ok = cfg.Secret(agent.APIKeySecret); !ok {
			return nil, fmt.Errorf("the API key secret %q is not defined in secrets", agent.APIKeySecret)
		}
	}
	overrides := overridesOf(agent)
	in.Info = catalog.Resolve(catalog.Provider(agent.Type), sc.Model, override(agent, overrides, sc.Model))
	built, err := entry.New(ctx, in)
	if err != nil {
		return nil, err
	}
	// The limits and price of the model the provider serves: the config's,
	// else the catalog's (or the server's), else the fallbacks. A type the
	// catalog does not know (scripted) gets the fallbacks.
	s := catalogSlot(agent, overrides, slot, sc, built.Name, built.ServerContextLength)
	v := catalog.Review(s)
	if v.Err != nil {
		return nil, v.Err
	}
	p := built.Provider
	if opts.Gate != nil {
		p = opts.Gate.Wrap(p)
	}
	p = llm.WithRetry(p, llm.RetryPolicyFor(agent))
	if agent.RecordTo != "" {
		path := resolve(opts.BaseDir, strings.ReplaceAll(agent.RecordTo, "{run}", opts.RunID))
		p = scripted.Record(p, path, slot, fmt.Sprintf("agent %s, model %s, run %s", agentName, built.Name, opts.RunID))
	}
	m := &llm.Model{
		Provider:        p,
		Name:            built.Name,
		ContextWindow:   v.Limits.ContextWindow,
		MaxOutputTokens: v.Limits.MaxOutputTokens,
		Price:           llm.ModelPrice(catalog.Resolve(s.Provider, s.Model, s.Override)),
		Compaction:      agent.Compaction,
	}
	if slot != llm.SlotSummarization && agent.Compaction.Enabled && !entry.NoSummarizer {
		if m.Summarizer, err = tb.build(ctx, cfg, agentName, llm.SlotSummarization, opts); err != nil {
			return nil, fmt.Errorf("summarization slot: %w", err)
		}
	}
	return m, nil
}

func resolve(base, path string) string {
	if base == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(base, path)
}
