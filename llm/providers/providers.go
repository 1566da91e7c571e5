// Package providers builds the llm.Model of an agent's model slot from the
// config: it picks the provider by the agent's type, reads the API key from
// the secrets the agent names, and wraps the provider in what makes every
// call bind the config's limits (the process-wide gate, the agent's retry
// and request timeout, recording). It imports every provider package,
// which is why it is not part of llm.
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
	"github.com/agent-smith/agent-smith/llm/anthropic"
	"github.com/agent-smith/agent-smith/llm/gemini"
	"github.com/agent-smith/agent-smith/llm/openai"
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

// New returns the model of agentName's slot.
func New(ctx context.Context, cfg *config.Config, agentName string, slot llm.Slot, opts Options) (*llm.Model, error) {
	m, err := build(cfg, agentName, slot, opts)
	if err != nil {
		return nil, fmt.Errorf("model for agent %s, slot %s: %w", agentName, slot, err)
	}
	logr.FromContextOrDiscard(ctx).V(1).Info("model ready", "agent", agentName, "slot", string(slot), "model", m.Name,
		"summarizer", m.Summarizer != nil)
	return m, nil
}

func build(cfg *config.Config, agentName string, slot llm.Slot, opts Options) (*llm.Model, error) {
	agent, ok := cfg.Agents[agentName]
	if !ok {
		return nil, fmt.Errorf("no agent %q in the config", agentName)
	}
	sc, err := llm.SlotConfig(agent, slot)
	if err != nil {
		return nil, err
	}
	key := ""
	if agent.APIKeySecret != "" {
		if key, ok = cfg.Secret(agent.APIKeySecret); !ok {
			return nil, fmt.Errorf("the API key secret %q is not defined in secrets", agent.APIKeySecret)
		}
	}
	raw, name, err := rawProvider(agent, sc, key, slot, opts)
	if err != nil {
		return nil, err
	}
	p := raw
	if opts.Gate != nil {
		p = opts.Gate.Wrap(p)
	}
	p = llm.WithRetry(p, llm.RetryPolicyFor(agent))
	if agent.RecordTo != "" {
		path := resolve(opts.BaseDir, strings.ReplaceAll(agent.RecordTo, "{run}", opts.RunID))
		p = scripted.Record(p, path, slot, fmt.Sprintf("agent %s, model %s, run %s", agentName, name, opts.RunID))
	}
	m := &llm.Model{
		Provider:        p,
		Name:            name,
		ContextWindow:   agent.ContextWindow,
		MaxOutputTokens: sc.MaxOutputTokens,
		Price:           llm.PriceFor(agent.Pricing, name),
		Compaction:      agent.Compaction,
	}
	// A scripted agent condenses mechanically: a summarizer would take
	// turns meant for the loop.
	if slot != llm.SlotSummarization && agent.Compaction.Enabled && agent.Type != config.AgentScripted {
		if m.Summarizer, err = build(cfg, agentName, llm.SlotSummarization, opts); err != nil {
			return nil, fmt.Errorf("summarization slot: %w", err)
		}
	}
	return m, nil
}

// rawProvider builds the provider of the agent's type and the model name
// that prices and reports its calls.
func rawProvider(agent *config.Agent, sc config.ModelSlot, key string, slot llm.Slot, opts Options) (llm.Provider, string, error) {
	hc := opts.HTTPClient
	switch agent.Type {
	case config.AgentAzureOpenAI:
		c, err := openai.New(openai.Config{Flavor: openai.FlavorAzure, BaseURL: agent.Endpoint, Deployment: sc.Deployment,
			APIVersion: agent.APIVersion, APIKey: key, HTTPClient: hc})
		return c, sc.Model, err
	case config.AgentOpenAI:
		c, err := openai.New(openai.Config{Flavor: openai.FlavorOpenAI, BaseURL: agent.Endpoint, Model: sc.Model, APIKey: key, HTTPClient: hc})
		return c, sc.Model, err
	case config.AgentOllama:
		c, err := openai.New(openai.Config{Flavor: openai.FlavorOllama, BaseURL: agent.Endpoint, Model: sc.Model, APIKey: key, HTTPClient: hc})
		return c, sc.Model, err
	case config.AgentAnthropic:
		c, err := anthropic.New(anthropic.Config{BaseURL: agent.Endpoint, Model: sc.Model, APIKey: key, HTTPClient: hc})
		return c, sc.Model, err
	case config.AgentGemini:
		c, err := gemini.New(gemini.Config{BaseURL: agent.Endpoint, Model: sc.Model, APIKey: key, HTTPClient: hc})
		return c, sc.Model, err
	case config.AgentScripted:
		path := resolve(opts.BaseDir, agent.Script)
		turns, err := scripted.Load(path)
		if err != nil {
			return nil, "", err
		}
		name := sc.Model
		if name == "" {
			name = "scripted"
		}
		return scripted.New(path, turns, slot), name, nil
	}
	return nil, "", fmt.Errorf("unknown agent type %q", agent.Type)
}

func resolve(base, path string) string {
	if base == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(base, path)
}
