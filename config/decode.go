package config

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxDecodeSteps bounds the work of one decode. Aliases and merge keys can
// make a small document expand exponentially; a real config needs a few
// thousand steps.
const maxDecodeSteps = 200_000

// decode maps node n onto v by walking the struct tags (one generic walker
// for every block): unknown keys, wrong types and failed ${VAR} expansions
// are recorded as errors with their path and line, and decoding goes on so
// that every problem is reported at once.
func (l *loader) decode(n *yaml.Node, v reflect.Value, path string) {
	n, ok := l.enter(n, path)
	if !ok {
		return
	}
	if n.Kind == yaml.AliasNode {
		// enter has marked the alias target as active; decode its value.
		defer delete(l.active, n.Alias)
		l.decode(n.Alias, v, path)
		return
	}
	if v.Kind() == reflect.Pointer {
		// A present key allocates its block even when empty, so that
		// `trigger:` alone still counts as a trigger block.
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if isNull(n) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		l.decodeStruct(n, v, path)
	case reflect.Map:
		l.decodeMap(n, v, path)
	case reflect.Slice:
		l.decodeSlice(n, v, path)
	default:
		l.decodeScalar(n, v, path)
	}
}

// enter counts a decode step and guards against aliases that contain
// themselves. For an alias it marks the target active; the caller clears it.
func (l *loader) enter(n *yaml.Node, path string) (*yaml.Node, bool) {
	if n == nil || l.exhausted {
		return nil, false
	}
	l.steps++
	if l.steps > maxDecodeSteps {
		l.exhausted = true
		l.errorAt(path, n.Line, "document too large: aliases and merge keys expand to more than %d values", maxDecodeSteps)
		return nil, false
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || l.active[n.Alias] {
			l.errorAt(path, n.Line, "alias *%s refers to a value that contains it", n.Value)
			return nil, false
		}
		l.active[n.Alias] = true
	}
	return n, true
}

func (l *loader) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.wrongType(n, path, "a mapping")
		return
	}
	t := v.Type()
	fields := structFields(t)
	for _, kv := range l.pairs(n, path) {
		key := kv.key.Value
		p := child(path, key)
		if t == projectType && l.triggerKey(kv, v, path) {
			continue
		}
		idx, known := fields.index[key]
		if !known {
			if _, retired := retiredKeys[t][key]; !retired && extensible[t] {
				// Perhaps a key of the block's type: decodeSettings decides.
				l.extra[path] = append(l.extra[path], kv)
				continue
			}
			names := fields.names
			if t == projectType {
				names = append(slices.Clone(names), slices.Sorted(maps.Keys(l.schema.aliases))...)
			}
			l.unknownKey(t, key, p, kv.key.Line, names)
			continue
		}
		l.record(p, kv)
		l.decode(kv.value, v.Field(idx), p)
	}
}

var projectType = reflect.TypeFor[Project]()

func (l *loader) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		l.wrongType(n, path, "a mapping")
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for _, kv := range l.pairs(n, path) {
		p := child(path, kv.key.Value)
		l.record(p, kv)
		elem := reflect.New(v.Type().Elem()).Elem()
		l.decode(kv.value, elem, p)
		v.SetMapIndex(reflect.ValueOf(kv.key.Value).Convert(v.Type().Key()), elem)
	}
}

func (l *loader) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		l.wrongType(n, path, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		l.lines[p] = item.Line
		l.decode(item, s.Index(i), p)
	}
	v.Set(s)
}

func (l *loader) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	want := scalarWant(v.Kind())
	if n.Kind != yaml.ScalarNode {
		l.wrongType(n, path, want)
		return
	}
	s, ok := l.expand(n, path)
	if !ok {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
		return
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if i, err := strconv.ParseInt(s, 10, v.Type().Bits()); err == nil {
			v.SetInt(i)
			return
		}
	case reflect.Float32, reflect.Float64:
		if f, err := strconv.ParseFloat(s, v.Type().Bits()); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			v.SetFloat(f)
			return
		}
	case reflect.Bool:
		if b, ok := parseBool(s); ok {
			v.SetBool(b)
			return
		}
	default:
		l.errorAt(path, n.Line, "cannot decode into %s", v.Type())
		return
	}
	if s != n.Value {
		// Never echo an expanded value: it may be a secret.
		l.errorAt(path, n.Line, "want %s, got the expansion of %q", want, n.Value)
		return
	}
	l.errorAt(path, n.Line, "want %s, got %q", want, s)
}

func (l *loader) wrongType(n *yaml.Node, path, want string) {
	got := "a scalar"
	switch n.Kind {
	case yaml.MappingNode:
		got = "a mapping"
	case yaml.SequenceNode:
		got = "a list"
	case yaml.ScalarNode:
		got = fmt.Sprintf("%q", n.Value)
	}
	l.errorAt(path, n.Line, "want %s, got %s", want, got)
}

func (l *loader) unknownKey(t reflect.Type, key, path string, line int, known []string) {
	if why, ok := retiredKeys[t][key]; ok {
		l.errorAt(path, line, "is not supported: %s", why)
		return
	}
	if s := closest(key, known); s != "" {
		l.errorAt(path, line, "unknown key (did you mean %q?)", s)
		return
	}
	l.errorAt(path, line, "unknown key (known keys: %s)", strings.Join(known, ", "))
}

// record notes where a key is and whether it has a value; defaults apply
// only to keys without one.
func (l *loader) record(path string, kv pair) {
	l.lines[path] = kv.key.Line
	if !isNull(deref(kv.value)) {
		l.set[path] = true
	}
}

type pair struct{ key, value *yaml.Node }

// pairs lists a mapping's entries with merge keys (<<) resolved: explicit
// keys win over merged ones, and earlier merged mappings over later ones.
// Duplicate explicit keys are errors.
func (l *loader) pairs(n *yaml.Node, path string) []pair {
	var explicit, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merged = append(merged, l.mergeSources(val, path)...)
			continue
		}
		if k = deref(k); k == nil || k.Kind != yaml.ScalarNode {
			l.errorAt(path, n.Content[i].Line, "keys must be strings")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errorAt(child(path, k.Value), k.Line, "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		explicit = append(explicit, pair{k, val})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key.Line
			explicit = append(explicit, p)
		}
	}
	return explicit
}

func (l *loader) mergeSources(n *yaml.Node, path string) []pair {
	n, ok := l.enter(n, path)
	if !ok {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		defer delete(l.active, n.Alias)
		return l.mergeSources(n.Alias, path)
	case yaml.MappingNode:
		return l.pairs(n, path)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range n.Content {
			if d := deref(item); d == nil || d.Kind != yaml.MappingNode {
				l.errorAt(path, item.Line, "merge key (<<) takes a mapping or a list of mappings")
				continue
			}
			out = append(out, l.mergeSources(item, path)...)
		}
		return out
	}
	l.errorAt(path, n.Line, "merge key (<<) takes a mapping or a list of mappings")
	return nil
}

// deref follows aliases without counting; it is only used to look at a
// node's kind, never to decode it.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

func scalarWant(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return "a string"
}

// child is the path of key below path. Keys that would make the path
// ambiguous (dots, brackets, spaces) are quoted: agents.x.pricing["gpt-4.1"].
func child(path, key string) string {
	if key == "" || strings.ContainsAny(key, ".[] \t\"") {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// parent is path without its last segment (best effort for quoted keys:
// it is only used to find a line or an earlier error).
func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}

type fieldSet struct {
	index map[string]int
	names []string
}

func structFields(t reflect.Type) fieldSet {
	fs := fieldSet{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fs.index[name] = i
		fs.names = append(fs.names, name)
	}
	return fs
}

// retiredKeys are keys of the original system's agentsmith.yml that this
// implementation deliberately does not read, with what to do instead.
var retiredKeys = map[reflect.Type]map[string]string{
	reflect.TypeFor[Config](): {
		"pipeline_storage":   "run state lives in Redis under queue.redis_prefix and is kept for queue.retention_hours",
		"pipeline_data_flow": "the data-flow gate of the original system is not implemented",
		"primary_provider":   "each project names its agent (projects.<name>.agent)",
		"webhooks":           "set trackers.<name>.webhook_secret; webhook paths follow from the tracker type and name",
		"pipeline_cost_cap":  "use limits.max_cost_usd_per_run and limits.max_tokens_per_run",
	},
	reflect.TypeFor[Project](): {
		"polling":      "polling is configured per tracker (trackers.<name>.polling)",
		"pipeline":     "use default_pipeline",
		"pipelines":    "pipelines are the presets fix-bug, add-feature, fix-no-test, init-project; use default_pipeline and pipeline_from_label",
		"orchestrator": "the orchestrator block is global",
	},
	reflect.TypeFor[Trigger](): {
		"secret": "set trackers.<name>.webhook_secret",
	},
	reflect.TypeFor[Agent](): {
		"cache":       "prompt caching is not configurable",
		"parallelism": "use limits.max_concurrent_llm_calls",
	},
	reflect.TypeFor[Repo](): {
		"path": "put a local path in url (type git)",
	},
}

// keyPath appends schema keys (fixed names, possibly dotted like
// "retry.max_retries") to path; unlike child it never quotes.
func keyPath(path, keys string) string {
	if path == "" {
		return keys
	}
	return path + "." + keys
}
