package catalog

// The catalog, as read on the date in sources.go. Prices are USD per
// million tokens; Anthropic's CacheWrite is the 5-minute write this
// project's clients request. Where a source gives no cached or cache-write
// rate, the Note of the source says which multiplier filled it.

var (
	openAIEfforts    = []string{"low", "medium", "high", "xhigh", "max"}
	openAINoneFirst  = []string{"none", "low", "medium", "high", "xhigh", "max"}
	gpt51Efforts     = []string{"none", "low", "medium", "high"}
	gpt5Efforts      = []string{"minimal", "low", "medium", "high"}
	oSeriesEfforts   = []string{"low", "medium", "high"}
	geminiLevels     = []string{"low", "medium", "high"}
	azureOSeries     = "2024-12-01-preview"
	azureNewReasoner = "2025-04-01-preview"
)

func rates(in, cached, write, out float64) Rates {
	return Rates{Input: in, CachedInput: cached, CacheWrite: write, Output: out}
}

func flat(in, cached, write, out float64) Price { return Price{Rates: rates(in, cached, write, out)} }

// claude is an Anthropic entry: every current Claude model calls tools
// and has no JSON switch (the client asks for JSON in the system prompt).
func claude(model string, aliases []string, window, out int, reasoning bool, p Price, src string) Entry {
	return Entry{Model: model, Aliases: aliases, Provider: Anthropic, ContextWindow: window, MaxOutputTokens: out,
		Reasoning: reasoning, Tools: true, Price: p, Source: src}
}

var entries = []Entry{
	// Anthropic: current lineup, then legacy models the API still serves.
	claude("claude-fable-5-2", nil, 1_000_000, 128_000, true, flat(8, 0.20, 10, 40), "anthropic-fable"),
	claude("claude-fable-5-1", nil, 1_000_000, 128_000, true, flat(10, 0.25, 12.50, 50), "anthropic-pricing"),
	claude("claude-opus-5-5", nil, 1_000_000, 128_000, true, flat(4, 0.20, 5, 20), "anthropic-opus-5-5"),
	claude("claude-opus-5", nil, 1_000_000, 128_000, true, flat(5, 0.50, 6.25, 25), "anthropic-opus-5"),
	claude("claude-sonnet-5-5", nil, 1_000_000, 128_000, true, flat(2, 0.10, 2.50, 10), "anthropic-sonnet-5-5"),
	claude("claude-sonnet-5", nil, 1_000_000, 128_000, true, flat(2, 0.20, 2.50, 10), "anthropic-sonnet-5"),
	claude("claude-haiku-5-5", nil, 1_000_000, 128_000, true, Price{Rates: rates(0.10, 0.01, 0.125, 0.50),
		LongAbove: 100_000, Long: rates(0.50, 0.05, 0.625, 2.50)}, "anthropic-haiku-5-5"),
	claude("claude-opus-4-8", nil, 1_000_000, 128_000, false, flat(5, 0.50, 6.25, 25), "anthropic-legacy"),
	claude("claude-opus-4-7", nil, 1_000_000, 128_000, false, flat(5, 0.50, 6.25, 25), "anthropic-legacy"),
	claude("claude-opus-4-6", nil, 1_000_000, 128_000, false, flat(5, 0.50, 6.25, 25), "anthropic-legacy"),
	claude("claude-sonnet-4-6", nil, 1_000_000, 64_000, false, flat(3, 0.30, 3.75, 15), "anthropic-legacy"),
	claude("claude-opus-4-5", []string{"claude-opus-4-5-20251101"}, 200_000, 64_000, false, flat(5, 0.50, 6.25, 25), "anthropic-legacy"),
	claude("claude-sonnet-4-5", []string{"claude-sonnet-4-5-20250929"}, 200_000, 64_000, false, flat(3, 0.30, 3.75, 15), "anthropic-legacy"),
	claude("claude-haiku-4-5", []string{"claude-haiku-4-5-20251001"}, 200_000, 64_000, false, flat(1, 0.10, 1.25, 5), "anthropic-legacy"),

	// OpenAI (and Azure OpenAI deployments of the same models).
	{Model: "gpt-6.2-astra", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAIEfforts,
		JSONMode: true, Price: Price{Rates: rates(8, 0.40, 10, 40), LongAbove: 272_000, Long: rates(16, 0.80, 20, 60)},
		AzureMinAPIVersion: azureNewReasoner, Source: "openai-models"},
	{Model: "gpt-6.2-sol", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAIEfforts,
		JSONMode: true, Price: Price{Rates: rates(2, 0.10, 2.50, 10), LongAbove: 272_000, Long: rates(4, 0.20, 5, 15)},
		AzureMinAPIVersion: azureNewReasoner, Source: "openai-models"},
	{Model: "gpt-6.1-terra", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAINoneFirst,
		Tools: true, ToolsEffort: "none", JSONMode: true, Price: flat(1, 0.10, 0, 5), AzureMinAPIVersion: azureNewReasoner, Source: "openai-models"},
	{Model: "gpt-6.1-sol", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAIEfforts,
		JSONMode: true, Price: flat(2, 0.20, 0, 10), AzureMinAPIVersion: azureNewReasoner, Source: "openai-models"},
	{Model: "gpt-6-astra", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAIEfforts,
		JSONMode: true, Price: Price{Rates: rates(10, 1, 12.50, 50), LongAbove: 272_000, Long: rates(20, 2, 25, 75)},
		AzureMinAPIVersion: azureNewReasoner, Source: "openai-compare"},
	{Model: "gpt-6-luna", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAINoneFirst,
		Tools: true, ToolsEffort: "none", JSONMode: true, Price: flat(0.10, 0.01, 0, 0.50), AzureMinAPIVersion: azureNewReasoner, Source: "openai-chat-tools"},
	{Model: "gpt-5.6-sol", Aliases: []string{"gpt-5.6"}, Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true,
		Efforts: openAINoneFirst, Tools: true, ToolsEffort: "none", JSONMode: true, Price: flat(4, 0.40, 0, 20), AzureMinAPIVersion: azureNewReasoner, Source: "openai-models"},
	{Model: "gpt-5.6-terra", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAINoneFirst,
		Tools: true, ToolsEffort: "none", JSONMode: true, Price: flat(2, 0.20, 0, 12), AzureMinAPIVersion: azureNewReasoner, Source: "openai-models"},
	{Model: "gpt-5.6-luna", Provider: OpenAI, ContextWindow: 1_050_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: openAINoneFirst,
		Tools: true, ToolsEffort: "none", JSONMode: true, Price: flat(0.20, 0.02, 0, 1.20), AzureMinAPIVersion: azureNewReasoner, Source: "openai-models"},
	{Model: "gpt-5.1", Provider: OpenAI, ContextWindow: 400_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: gpt51Efforts,
		Tools: true, JSONMode: true, Price: flat(1.25, 0.125, 0, 10), AzureMinAPIVersion: azureNewReasoner, Source: "openai-gpt-5-1"},
	{Model: "gpt-5", Provider: OpenAI, ContextWindow: 400_000, MaxInputTokens: 272_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: gpt5Efforts,
		Tools: true, JSONMode: true, Price: flat(1.25, 0.125, 0, 10), AzureMinAPIVersion: azureNewReasoner, Source: "openai-2025"},
	{Model: "gpt-5-mini", Provider: OpenAI, ContextWindow: 400_000, MaxInputTokens: 272_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: gpt5Efforts,
		Tools: true, JSONMode: true, Price: flat(0.25, 0.025, 0, 2), AzureMinAPIVersion: azureNewReasoner, Source: "openai-2025"},
	{Model: "gpt-5-nano", Provider: OpenAI, ContextWindow: 400_000, MaxInputTokens: 272_000, MaxOutputTokens: 128_000, Reasoning: true, Efforts: gpt5Efforts,
		Tools: true, JSONMode: true, Price: flat(0.05, 0.005, 0, 0.40), AzureMinAPIVersion: azureNewReasoner, Source: "openai-2025"},
	{Model: "o3", Provider: OpenAI, ContextWindow: 200_000, MaxOutputTokens: 100_000, Reasoning: true, Efforts: oSeriesEfforts,
		Tools: true, JSONMode: true, Price: flat(2, 0.50, 0, 8), AzureMinAPIVersion: azureNewReasoner, Source: "openai-2025"},
	{Model: "o4-mini", Provider: OpenAI, ContextWindow: 200_000, MaxOutputTokens: 100_000, Reasoning: true, Efforts: oSeriesEfforts,
		Tools: true, JSONMode: true, Price: flat(1.10, 0.275, 0, 4.40), AzureMinAPIVersion: azureNewReasoner, Source: "openai-2025"},
	{Model: "o3-mini", Provider: OpenAI, ContextWindow: 200_000, MaxOutputTokens: 100_000, Reasoning: true, Efforts: oSeriesEfforts,
		Tools: true, JSONMode: true, Price: flat(1.10, 0.55, 0, 4.40), AzureMinAPIVersion: azureOSeries, Source: "openai-2025"},
	{Model: "o1", Provider: OpenAI, ContextWindow: 200_000, MaxOutputTokens: 100_000, Reasoning: true, Efforts: oSeriesEfforts,
		Tools: true, JSONMode: true, Price: flat(15, 7.50, 0, 60), AzureMinAPIVersion: azureOSeries, Source: "openai-2025"},
	{Model: "gpt-4.1", Provider: OpenAI, ContextWindow: 1_047_576, MaxOutputTokens: 32_768, Tools: true, JSONMode: true,
		Price: flat(2, 0.50, 0, 8), Source: "openai-2025"},
	{Model: "gpt-4.1-mini", Provider: OpenAI, ContextWindow: 1_047_576, MaxOutputTokens: 32_768, Tools: true, JSONMode: true,
		Price: flat(0.40, 0.10, 0, 1.60), Source: "openai-2025"},
	{Model: "gpt-4.1-nano", Provider: OpenAI, ContextWindow: 1_047_576, MaxOutputTokens: 32_768, Tools: true, JSONMode: true,
		Price: flat(0.10, 0.025, 0, 0.40), Source: "openai-2025"},
	{Model: "gpt-4o", Provider: OpenAI, ContextWindow: 128_000, MaxOutputTokens: 16_384, Tools: true, JSONMode: true,
		Price: flat(2.50, 1.25, 0, 10), Source: "openai-2025"},
	{Model: "gpt-4o-mini", Provider: OpenAI, ContextWindow: 128_000, MaxOutputTokens: 16_384, Tools: true, JSONMode: true,
		Price: flat(0.15, 0.075, 0, 0.60), Source: "openai-2025"},

	// Gemini. Thinking tokens are billed as output.
	{Model: "gemini-4-argon", Provider: Gemini, ContextWindow: 1_048_576, MaxOutputTokens: 64_000, Reasoning: true, Efforts: geminiLevels,
		Tools: true, JSONMode: true, Price: flat(4, 0.20, 0, 20), Source: "gemini-4"},
	{Model: "gemini-4-neon", Provider: Gemini, ContextWindow: 1_000_000, MaxOutputTokens: 65_000, Reasoning: true, Efforts: geminiLevels,
		Tools: true, JSONMode: true, Price: flat(3, 0.15, 0, 15), Source: "gemini-4"},
	{Model: "gemini-3.8-flash", Provider: Gemini, ContextWindow: 1_048_576, MaxOutputTokens: 65_536, Reasoning: true, Efforts: geminiLevels,
		Tools: true, JSONMode: true, Price: flat(0.75, 0.75, 0, 3.75), Source: "gemini-3-8-flash"},
}
