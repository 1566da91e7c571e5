package config

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// This file reads and writes the keys a kind adds to a block. Decoding a
// block keeps the keys its common struct does not know (Tracker, Agent,
// Trigger); once the whole document is decoded, and so every type is
// known, they are decoded into the settings of the block's type.

// extensible are the blocks a kind adds keys to.
var extensible = map[reflect.Type]bool{
	reflect.TypeFor[Tracker](): true,
	reflect.TypeFor[Agent]():   true,
	reflect.TypeFor[Trigger](): true,
}

// triggerAt is the key a project's trigger block is written under.
type triggerAt struct {
	key  string
	line int
}

// triggerPath is the path of the project's trigger block as the file
// writes it: projects.<name>.trigger, or the alias the file uses.
func (l *loader) triggerPath(project string) string {
	return child(project, cmp.Or(l.triggers[project].key, "trigger"))
}

// triggerKey decodes a project's trigger block, written as `trigger` or as
// a tracker type's alias, and notes the key. A second one is an error.
func (l *loader) triggerKey(kv pair, v reflect.Value, path string) bool {
	key := kv.key.Value
	if _, alias := l.schema.aliases[key]; key != "trigger" && !alias {
		return false
	}
	p := child(path, key)
	if first, dup := l.triggers[path]; dup {
		l.errorAt(p, kv.key.Line, "a project has one trigger block, and %s (line %d) is it", first.key, first.line)
		return true
	}
	l.triggers[path] = triggerAt{key: key, line: kv.key.Line}
	l.record(p, kv)
	l.decode(kv.value, v.FieldByName("TriggerBlock"), p)
	return true
}

// decodeSettings gives every agent, tracker and trigger block the settings
// of its type, decoded from the keys the common decode left.
func (l *loader) decodeSettings(c *Config) {
	for _, name := range slices.Sorted(maps.Keys(c.Agents)) {
		a, path := c.Agents[name], child("agents", name)
		kind, known := l.schema.Providers[string(a.Type)]
		s := newSettings(kind.Settings)
		l.settings(path, s, known, l.schema.agentKeys, reflect.TypeFor[Agent](), "%s agents")
		if s != nil {
			a.Settings = s.(AgentSettings)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Trackers)) {
		t, path := c.Trackers[name], child("trackers", name)
		kind, known := l.schema.Trackers[string(t.Type)]
		t.Settings = l.trackerSettings(path, kind.Settings, known, l.schema.trackerKeys, reflect.TypeFor[Tracker](), "%s trackers")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Projects)) {
		p, path := c.Projects[name], child("projects", name)
		if p.TriggerBlock == nil {
			continue
		}
		kind, known := l.projectKind(c, path, p)
		p.TriggerBlock.Settings = l.trackerSettings(l.triggerPath(path), kind.TriggerSettings, known,
			l.schema.triggerKeys, reflect.TypeFor[Trigger](), "projects of %s trackers")
	}
}

// projectKind is the kind of the project's tracker; not known when the
// tracker or its type is not, or the trigger block is written under
// another type's alias (each is reported on its own).
func (l *loader) projectKind(c *Config, path string, p *Project) (TrackerKind, bool) {
	t, ok := c.Trackers[p.Tracker]
	if !ok {
		return TrackerKind{}, false
	}
	if alias, aliased := l.schema.aliases[l.triggers[path].key]; aliased && alias != string(t.Type) {
		return TrackerKind{}, false
	}
	kind, ok := l.schema.Trackers[string(t.Type)]
	return kind, ok
}

func (l *loader) trackerSettings(path string, f func() TrackerSettings, known bool, idx keyIndex, common reflect.Type, what string) TrackerSettings {
	s := newTrackerSettings(f)
	l.settings(path, s, known, idx, common, what)
	return s
}

// newTrackerSettings is newSettings for tracker and trigger blocks.
func newTrackerSettings(f func() TrackerSettings) TrackerSettings {
	if s := newSettings(f); s != nil {
		return s.(TrackerSettings)
	}
	return nil
}

// settings decodes the keys of the block at path that its common struct
// (of type common) does not have into s, the settings of its type (nil
// when the type has none). known says whether the block's type is known;
// idx holds the keys of every type of the family, and what (with the types
// having a key) names whom a key of another type applies to.
func (l *loader) settings(path string, s any, known bool, idx keyIndex, common reflect.Type, what string) {
	var fields fieldSet
	if s != nil {
		fields = settingsFields(reflect.ValueOf(s))
	}
	for _, kv := range l.extra[path] {
		key, line := kv.key.Value, kv.key.Line
		p := child(path, key)
		if i, ok := fields.index[key]; ok {
			l.record(p, kv)
			l.decode(kv.value, reflect.ValueOf(s).Elem().Field(i), p)
			continue
		}
		_, other := idx[key]
		switch {
		case other && known:
			l.errorAt(p, line, "only applies to %s", fmt.Sprintf(what, idx.owners(key)))
		case other:
			// The block's type (or tracker) is wrong, which is reported;
			// keys of other types are not looked at.
		case known:
			l.unknownKey(common, key, p, line, append(structFields(common).names, fields.names...))
		default:
			l.unknownKey(common, key, p, line, append(structFields(common).names, idx.keys()...))
		}
	}
}

// MarshalJSON writes the tracker's keys and its type's own in one object,
// as the file has them (`config print`).
func (t Tracker) MarshalJSON() ([]byte, error) {
	type plain Tracker
	return withSettings(plain(t), t.Settings)
}

// MarshalJSON writes the agent's keys and its type's own in one object.
func (a Agent) MarshalJSON() ([]byte, error) {
	type plain Agent
	return withSettings(plain(a), a.Settings)
}

// MarshalJSON writes the trigger's keys and its tracker type's own in one
// object.
func (t Trigger) MarshalJSON() ([]byte, error) {
	type plain Trigger
	return withSettings(plain(t), t.Settings)
}

// withSettings marshals v, a struct, and appends the keys of settings to
// the object. Settings keys never repeat v's: the decoder only gives
// settings the keys v does not have.
func withSettings(v, settings any) ([]byte, error) {
	base, err := json.Marshal(v)
	if err != nil || settings == nil {
		return base, err
	}
	own, err := json.Marshal(settings)
	if err != nil {
		return nil, err
	}
	if len(own) <= 2 || own[0] != '{' {
		// {} or null: nothing to add.
		return base, nil
	}
	if len(base) <= 2 {
		return own, nil
	}
	return append(append(base[:len(base)-1:len(base)-1], ','), own[1:]...), nil
}
