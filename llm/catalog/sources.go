package catalog

// Source is where catalog facts were read. Read is the day the stored
// copy of the page was read for this catalog; Note says what the page
// gave, what a cross-check added, and what is derived rather than read.
type Source struct {
	URL  string
	Read string
	Note string
}

// AzureVersionsSource keys the source of every AzureMinAPIVersion.
const AzureVersionsSource = "azure-reasoning"

// read is when every source below was read.
const read = "2026-12-05"

// Sources is the one place that says where each fact in the catalog comes
// from. Every entry's Source is a key here (TestEverySourceIsCitedAndUsed).
//
// Official pages come first in each Note. Where the official page was not
// in the stored copy, a dated third-party reading of it is named; those
// figures are the ones most worth re-checking.
var Sources = map[string]Source{
	"anthropic-pricing": {URL: "https://platform.claude.com/docs/en/about-claude/pricing", Read: read,
		Note: "Model pricing table: base input, 5m cache writes, 1h cache writes, cache hits, output for Fable 5.1, Fable 5, Opus 5, 4.8, 4.7, 4.6, 4.5; Opus 4.1 and 4 retired on the Claude API. " +
			"Cache writes are billed at 1.25x base input (5-minute TTL, the one this client uses) and hits at 0.1x unless a row says otherwise. " +
			"Fable 5.1 (claude-fable-5-1): 1M context, 128K output from the models overview's current-lineup table."},
	"anthropic-opus-5-5": {URL: "https://platform.claude.com/docs/zh-CN/models/opus-5-5/overview", Read: read,
		Note: "Opus 5.5: 1M context, 128K output, $4/$20, 5m write $5, cache read $0.20; adaptive thinking always on, thinking blocks tied to the conversation, forced tool use refused."},
	"anthropic-opus-5": {URL: "https://platform.claude.com/docs/about-claude/models/whats-new-opus-5", Read: read,
		Note: "Opus 5 (released 2026-07-24, legacy): 1M context, 128K output, $5/$25, 5m write $6.25, cache read $0.50, adaptive thinking."},
	"anthropic-sonnet-5-5": {URL: "https://platform.claude.com/docs/zh-CN/models/sonnet-5-5/overview", Read: read,
		Note: "Sonnet 5.5: 1M context, 128K output, $2/$10, 5m write $2.50, adaptive thinking. The page copy lists cache read $0.20; the cut to $0.10 on 2026-10-07 " +
			"is from dated re-readings of the pricing page (github.com/kurofune/claudit v1.9.2, 2026-10-24; github.com/TheKrush/PromptFuel v1.0.23)."},
	"anthropic-sonnet-5": {URL: "https://platform.claude.com/docs/zh-CN/models/sonnet-5/overview", Read: read,
		Note: "Sonnet 5 (released 2026-06-30, legacy): 1M context, 128K output, $2/$10, 5m write $2.50, cache read $0.20; adaptive thinking on by default; non-default temperature, top_p, top_k refused."},
	"anthropic-haiku-5-5": {URL: "https://platform.claude.com/docs/zh-CN/models/haiku-5-5/overview", Read: read,
		Note: "Haiku 5.5: 1M context, 128K output; prompts up to 100,000 tokens $0.10/$0.50, 5m write $0.125; longer prompts $0.50/$2.50, 5m write $0.625. " +
			"Cache hits $0.01 and $0.05 from the pricing page as re-read by github.com/kurofune/claudit v1.9.2 (2026-10-24)."},
	"anthropic-fable": {URL: "https://platform.claude.com/docs/id/models/opus-5/overview.md", Read: read,
		Note: "Current-lineup table: Fable 5.2 1M context, 128K output, $8/$40, adaptive thinking always on. " +
			"Fable 5.2 cache hits $0.20 from github.com/phuryn/claude-usage v1.5.7 (checked against platform.claude.com 2026-12-01); its 5m write is 1.25x input."},
	"anthropic-legacy": {URL: "https://platform.claude.com/docs/en/models/opus-4-6/overview.md", Read: read,
		Note: "Legacy model pages and the models overview: Opus 4.8 (released 2026-05-28) and Opus 4.6 (2026-02-05) 1M context, 128K output; Opus 4.7 1M context, 128K output; " +
			"Sonnet 4.6 1M context, 64K output, $3/$15; Opus 4.5 (claude-opus-4-5-20251101) 200K, 64K, $5/$25; Haiku 4.5 (claude-haiku-4-5-20251001) 200K, 64K, $1/$5; " +
			"Sonnet 4.5 (claude-sonnet-4-5-20250929) 200K without the 1M beta header this client does not send, 64K, $3/$15. Cache rates are the pricing page's multipliers."},

	"openai-models": {URL: "https://developers.openai.com/api/docs/models", Read: read,
		Note: "Flagship list (newest copy): GPT-6.2 Astra $8/$40, GPT-6.2 Sol $2/$10, GPT-6.1 Terra $1/$5, GPT-6 Luna $0.10/$0.50, each 1.05M context and 128K output, efforts low..max " +
			"(Terra and Luna also none). Earlier copies (ko-KR, ja-JP): GPT-6 Astra $10/$50, GPT-6.1 Sol $2/$10, GPT-5.6 Sol (alias gpt-5.6) $4/$20, Terra $2/$12, Luna $0.20/$1.20, all 1.05M/128K. " +
			"Cached input is 0.1x input on these models (the pricing page, as read 2026-11-05 by github.com/api-evangelist/posts)."},
	"openai-compare": {URL: "https://developers.openai.com/api/docs/models/compare", Read: read,
		Note: "GPT-6 Astra: $10 in, $1 cached, $50 out, $12.50 cache writes, 1,050,000 window, 128,000 output, Chat Completions endpoint. Past 272K input every rate of the request is 2x input and 1.5x output " +
			"(github.com/BerriAI/litellm discussion 39633). GPT-6.2 Sol and Astra cached, cache-write and long-context rates from github.com/iyulab/TokenMeter v0.17.0."},
	"openai-chat-tools": {URL: "https://developers.openai.com/api/docs/models/gpt-6-luna", Read: read,
		Note: "\"Chat Completions supports function calling only with reasoning_effort set to none\" (quoted in github.com/apache/flink-agents issue 1462). The 400 \"Function tools with reasoning_effort are not supported " +
			"... use /v1/responses or set reasoning_effort to 'none'\" applies from GPT-5.4 on (community.openai.com/t/1386454, github.com/danny-avila/LibreChat issue 14231). gpt-6-astra and gpt-6.1-sol accept no none, " +
			"so they call no tools over Chat Completions."},
	"openai-gpt-5-1": {URL: "https://developers.openai.com/api/docs/models/gpt-5.1", Read: read,
		Note: "GPT-5.1: 400,000 context, 128,000 output, $1.25 in, $0.125 cached, $10 out, efforts none (default), low, medium, high; Chat Completions endpoint."},
	"openai-2025": {URL: "https://platform.openai.com/docs/models", Read: read,
		Note: "Models Azure deployments still serve, as OpenAI documented them in 2025 (the official pages are not in the stored copy): gpt-5/-mini/-nano 400K context, 272K input, 128K output; " +
			"gpt-4.1 family 1,047,576 context, 32,768 output; gpt-4o family 128K, 16,384; o3, o4-mini, o3-mini, o1 200K, 100K. Cross-checked here against vercel.com/ai-gateway model pages " +
			"(o4-mini 200K/100K $1.10/$4.40; gpt-4o-mini 128K/16,384), unpkg.com/@lobehub/chat@1.94.11 azure.ts (gpt-4.1 1,047,576/32,768 $2/$0.50/$8; o4-mini cached $0.275) and " +
			"community.openai.com/t/1099176 (o1 $15/$7.50/$60)."},
	"azure-reasoning": {URL: "https://learn.microsoft.com/azure/ai-foundry/openai/how-to/reasoning", Read: read,
		Note: "o-series need a 2024-12-01-preview or later api-version (Azure's own 400: \"Model {modelName} is enabled only for api versions 2024-12-01-preview and later\", " +
			"github.com/Azure-Samples/azure-search-openai-demo issue 2496); o3, o4-mini and GPT-5 need 2025-04-01-preview (github.com/danielmiessler/Fabric v1.4.398). Newer models are assumed to need at least that."},

	"gemini-3-8-flash": {URL: "https://ai.google.dev/gemini-api/docs/models/gemini-3.8-flash", Read: read,
		Note: "Input limit 1,048,576, output 65,536, thinking low/medium/high, function calling and structured outputs (as captured 2026-09-03 by docs.apiyi.com). " +
			"$0.75/$3.75 from vercel.com/ai-gateway/models/google/gemini-3.8-flash; no cached rate read, so cached input is billed at the input rate."},
	"gemini-4": {URL: "https://ai.google.dev/gemini-api/docs/pricing", Read: read,
		Note: "Gemini 4 Argon: 1,048,576 tokens for input and output together, 64K output, $4/$20, cached $0.20 from 2026-12-01 (launch price $2/$10 through 2026-11-30), thinking_level low/medium/high " +
			"(github.com/BerriAI/litellm discussion 46238; github.com/iyulab/TokenMeter v0.13.1). Gemini 4 Neon: 1M context, 65K output, $3/$15, cached $0.15 (TokenMeter v0.17.0)."},
}
