package catalog_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agent-smith/agent-smith/llm/catalog"
)

var update = flag.Bool("update", false, "rewrite MODELS.md from the catalog")

// TestModelsListIsCurrent keeps MODELS.md, the list of every model in the
// catalog with its figures, source and date, in step with the catalog:
// `go test ./llm/catalog -run TestModelsListIsCurrent -update` rewrites it.
func TestModelsListIsCurrent(t *testing.T) {
	want := modelsList()
	if *update {
		if err := os.WriteFile("MODELS.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("MODELS.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("MODELS.md is not the catalog's list; run go test ./llm/catalog -run TestModelsListIsCurrent -update")
	}
}

func modelsList() string {
	var b strings.Builder
	b.WriteString("# Models in the catalog\n\n")
	b.WriteString("Generated from `llm/catalog` (models.go, sources.go) by `go test ./llm/catalog -run TestModelsListIsCurrent -update`; edit those files, not this one.\n")
	b.WriteString("Prices are USD per million tokens: input / cached input / cache write / output (a cache write of - is billed as input).\n")
	b.WriteString("An agent corrects any figure for its models under `agents.<name>.catalog.<model>` in agentsmith.yml.\n\n")
	b.WriteString("| Model | Maker | Context | Output | Reasoning (efforts) | Chat tools | JSON mode | Price | Azure api-version | Source | Read |\n")
	b.WriteString("|---|---|---:|---:|---|---|---|---|---|---|---|\n")
	for _, e := range catalog.Entries() {
		name := "`" + e.Model + "`"
		for _, a := range e.Aliases {
			name += ", `" + a + "`"
		}
		window := strconv.Itoa(e.ContextWindow)
		if e.MaxInputTokens > 0 {
			window += fmt.Sprintf(" (input ≤ %d)", e.MaxInputTokens)
		}
		reasoning := "no"
		if e.Reasoning {
			reasoning = "yes"
			if len(e.Efforts) > 0 {
				reasoning += " (" + strings.Join(e.Efforts, ", ") + ")"
			}
		}
		tools := yesNo(e.Tools)
		if e.ToolsEffort != "" {
			tools += " (effort " + e.ToolsEffort + " only)"
		}
		price := rates(e.Price.Rates)
		if e.Price.LongAbove > 0 {
			price += fmt.Sprintf("; above %d input tokens %s", e.Price.LongAbove, rates(e.Price.Long))
		}
		azure := e.AzureMinAPIVersion
		if azure == "" {
			azure = "-"
		}
		src := catalog.Sources[e.Source]
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s | [%s](%s) | %s |\n", name, e.Provider, window, e.MaxOutputTokens,
			reasoning, tools, yesNo(e.JSONMode), price, azure, e.Source, src.URL, src.Read)
	}
	b.WriteString("\n## Sources\n\n")
	keys := make([]string, 0, len(catalog.Sources))
	for k := range catalog.Sources {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		src := catalog.Sources[k]
		fmt.Fprintf(&b, "- **%s** (read %s): %s\n  %s\n", k, src.Read, src.URL, src.Note)
	}
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func rates(r catalog.Rates) string {
	write := "-"
	if r.CacheWrite > 0 {
		write = strconv.FormatFloat(r.CacheWrite, 'f', -1, 64)
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return f(r.Input) + " / " + f(r.CachedInput) + " / " + write + " / " + f(r.Output)
}
