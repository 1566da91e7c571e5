package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Kinds are the tracker and provider types a config may name, by type name.
// config knows none of them itself: trackers/connect holds the table of
// tracker kinds and llm/providers the table of provider kinds, and whoever
// parses a config passes them in (Parse, Load). A type missing here is an
// unknown value of its `type` key.
type Kinds struct {
	Trackers  map[string]TrackerKind
	Providers map[string]ProviderKind
}

// TrackerKind is one tracker type as config sees it. The common keys of a
// trackers.<name> block (type, url, project, auth, webhook_secret,
// open_states, done_status, trigger_labels, polling, zero_match_comment) and
// of a project's trigger block are config's; a kind adds its own keys to
// either block through its settings types, which also fill and check what
// depends on the type (url, open_states, whether auth is required).
//
// Common rules config applies to every kind: project and url are required
// (url an absolute http(s) URL), auth names a defined secret when set,
// open_states needs a state, trigger_labels a label (unless
// LabelsOptional), polling its ranges; a trigger's strategy must be one of
// Strategies.
type TrackerKind struct {
	// Settings returns new zero settings: a pointer to a struct whose
	// json-tagged fields are the type's own keys of a trackers.<name>
	// block, decoded from that block beside the common keys (so no key
	// may repeat a common one; Parse panics on such a kind). Nil when the
	// type adds no keys and needs no defaults or checks.
	Settings func() TrackerSettings
	// TriggerSettings is the same for a project's trigger block (Jira's
	// assignee_name); nil when the type adds nothing there.
	TriggerSettings func() TrackerSettings
	// Strategies lists the project_resolution strategies the type's
	// tickets support besides ResolveByRepo (RepoTickets decides that);
	// nil means ResolveByTag.
	Strategies []string
	// RepoTickets says the type's tickets live in a repository, the one
	// the tracker's project names by its path (GitHub's owner/name,
	// GitLab's group/name): strategy repo applies, to that repository
	// only, and a project that names it as its one repository resolves
	// by it when the file gives no project_resolution.
	RepoTickets bool
	// LabelsOptional lets trigger_labels be empty: the type's tickets
	// trigger another way too (Jira: assignment to agent_user).
	LabelsOptional bool
	// TriggerAlias is the key projects of older configs write their trigger
	// block under (github_trigger); "" for none. A project takes either
	// `trigger` or its tracker's alias.
	TriggerAlias string
}

// TrackerSettings are a tracker type's own keys of a block (see
// TrackerKind.Settings). Default runs before config's defaults of the
// block and fills what the file leaves out (use Default, which keeps an
// explicit value); Validate runs after config's checks of the block. Both
// get t, the tracker (for a trigger block: the project's tracker), and b,
// the block the settings came from.
type TrackerSettings interface {
	Default(b Block, t *Tracker)
	Validate(b Block, t *Tracker)
}

// ProviderKind is one model provider type as config sees it. The keys of an
// agents.<name> block are config's, except the type's own keys, which its
// settings type holds (Azure's deployment and api_version).
//
// Common rules config applies to every kind: model is required (unless
// ModelOptional), endpoint is an absolute http(s) URL when set,
// api_key_secret names a defined secret, the token limits (when set) and
// retry and compaction blocks are in range. context_window and
// max_output_tokens stay 0 when the file leaves them out: the type decides
// them (the model catalog, the server). A slot's deployment (models.<slot>.
// deployment) is only accepted when the type's settings have a deployment
// key.
type ProviderKind struct {
	// Settings returns new zero settings: a pointer to a struct whose
	// json-tagged fields are the type's own keys of an agents.<name> block.
	// Nil when the type adds no keys and needs no defaults or checks.
	Settings func() AgentSettings
	// APIKeySecret is the default of api_key_secret: the secrets entry the
	// key is read from. "" for a provider that takes no key.
	APIKeySecret string
	// ModelOptional lets model be empty (a scripted replay).
	ModelOptional bool
}

// AgentSettings are a provider type's own keys of an agents.<name> block,
// with Default and Validate as for TrackerSettings. Settings may also
// implement `DescribeModel(model string) string` to say how the agent's
// model reads in the summary (`config validate`), and SlotDescriber.
type AgentSettings interface {
	Default(b Block, a *Agent)
	Validate(b Block, a *Agent)
}

// SlotDescriber is implemented by agent settings that add a line per model
// slot to the summary: the model and what the type knows of it (the
// catalog's context window, output cap and prices). slot is a key of
// ModelSlots (planning, execution, review, summarization); "" prints no
// line. It is called on a loaded, valid config.
type SlotDescriber interface {
	DescribeSlot(a *Agent, slot string) string
}

// Block is one block of the file (a tracker, a project's trigger block, an
// agent) as a kind's settings see it while defaults are applied and the
// config is checked: keys are relative to the block, and problems are
// reported with the key's full path and line, like config's own.
type Block struct {
	v  *validator
	at string
}

// path is the full key path of key, a key of the block or a dotted path
// below it ("app.app_id"); "" is the block itself.
func (b Block) path(key string) string {
	if key == "" {
		return b.at
	}
	return keyPath(b.at, key)
}

// Entry is the block of the entry name of the map at key (catalog.<model>),
// for checks of a map a kind owns; name may hold dots ("gpt-4.1").
func (b Block) Entry(key, name string) Block { return Block{b.v, child(b.path(key), name)} }

// Has reports whether the file gives key a value.
func (b Block) Has(key string) bool { return b.v.l.set[b.path(key)] }

// Fail records a problem with key.
func (b Block) Fail(key, format string, args ...any) { b.v.fail(b.path(key), format, args...) }

// Warn records something the file should change that does not keep it
// from loading, with the key's path and line (Config.Warnings). The same
// warning at the same key is recorded once.
func (b Block) Warn(key, format string, args ...any) { b.v.l.warn(b.path(key), format, args...) }

// Required records "is required" when value is empty and reports whether
// it is set.
func (b Block) Required(key, value string) bool { return b.v.required(b.path(key), value) }

// Secret checks that value names a defined secret; an empty value is
// "is required". The secret must then also have a value.
func (b Block) Secret(key, value string) {
	if b.Required(key, value) {
		b.v.secretRef(b.path(key), value)
	}
}

// Default sets *field to value unless the file gives key (of block b) a
// value: an explicit 0, false or "" is kept.
func Default[T any](b Block, key string, field *T, value T) {
	if !b.Has(key) {
		*field = value
	}
}

// strategies is the list of project_resolution strategies of k.
func (k TrackerKind) strategies() []string {
	out := slices.Clone(k.Strategies)
	if out == nil {
		out = []string{ResolveByTag}
	}
	if k.RepoTickets && !slices.Contains(out, ResolveByRepo) {
		out = append(out, ResolveByRepo)
	}
	return out
}

// keyIndex maps each settings key of a family of kinds to the kinds that
// have it, sorted: it tells "only applies to jira trackers" from an
// unknown key, and offers every key for suggestions when a block's type is
// unknown.
type keyIndex map[string][]string

func newKeyIndex[K any](kinds map[string]K, settings func(K) any, common reflect.Type) keyIndex {
	idx := keyIndex{}
	own := structFields(common).index
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		s := settings(kinds[name])
		if s == nil {
			continue
		}
		for _, key := range settingsFields(reflect.ValueOf(s)).names {
			if _, taken := own[key]; taken {
				// The decoder gives the common key precedence, so the
				// setting could never be read.
				panic(fmt.Sprintf("config: type %s declares the common key %s of %s as its own", name, key, common.Name()))
			}
			idx[key] = append(idx[key], name)
		}
	}
	return idx
}

func (idx keyIndex) keys() []string { return slices.Sorted(maps.Keys(idx)) }

// owners names the kinds that have key, for "only applies to" messages.
func (idx keyIndex) owners(key string) string { return strings.Join(idx[key], " and ") }

// schema is what one Parse knows of its kinds.
type schema struct {
	Kinds
	trackerKeys, triggerKeys, agentKeys keyIndex
	// aliases maps each trigger alias to its tracker type.
	aliases map[string]string
	// strategies are every kind's, for the strategy's "one of" message.
	strategies []string
}

func newSchema(k Kinds) *schema {
	s := &schema{Kinds: k, aliases: map[string]string{}, strategies: []string{ResolveByTag, ResolveByRepo}}
	s.trackerKeys = newKeyIndex(k.Trackers, func(tk TrackerKind) any { return newSettings(tk.Settings) }, reflect.TypeFor[Tracker]())
	s.triggerKeys = newKeyIndex(k.Trackers, func(tk TrackerKind) any { return newSettings(tk.TriggerSettings) }, reflect.TypeFor[Trigger]())
	s.agentKeys = newKeyIndex(k.Providers, func(pk ProviderKind) any { return newSettings(pk.Settings) }, reflect.TypeFor[Agent]())
	for _, name := range slices.Sorted(maps.Keys(k.Trackers)) {
		tk := k.Trackers[name]
		if tk.TriggerAlias != "" {
			s.aliases[tk.TriggerAlias] = name
		}
		for _, st := range tk.strategies() {
			if !slices.Contains(s.strategies, st) {
				s.strategies = append(s.strategies, st)
			}
		}
	}
	return s
}

// supporters names the tracker types whose tickets support strategy.
func (s *schema) supporters(strategy string) string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(s.Trackers)) {
		if slices.Contains(s.Trackers[name].strategies(), strategy) {
			out = append(out, name)
		}
	}
	return strings.Join(out, " and ")
}

// newSettings calls a kind's settings constructor, if it has one; the
// result is nil or a pointer to a struct.
func newSettings[S any](f func() S) any {
	if f == nil {
		return nil
	}
	s := any(f())
	if v := reflect.ValueOf(s); !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("config: settings of a kind must be a non-nil pointer to a struct, got %T", s))
	}
	return s
}

// settingsFields are the keys of a settings value (a pointer to a struct).
func settingsFields(v reflect.Value) fieldSet { return structFields(v.Elem().Type()) }
