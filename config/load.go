package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes, defaults and validates the config file at path,
// expanding ${VAR} references with lookupEnv (os.LookupEnv in production).
// kinds are the tracker and provider types the file may name, with their
// own keys. Any failure, including an unreadable file, is returned as
// Errors.
func Load(path string, lookupEnv func(string) (string, bool), kinds Kinds) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			msg = "cannot read file: " + pe.Err.Error()
		}
		return nil, Errors{{Source: path, Message: msg, Err: err}}
	}
	return Parse(data, path, lookupEnv, kinds)
}

// Parse is Load for a document already in memory; source names it in
// errors (a file path, or the ConfigMap key on a hot reload). A nil
// lookupEnv means no variable is set.
func Parse(data []byte, source string, lookupEnv func(string) (string, bool), kinds Kinds) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	l := &loader{
		source:   source,
		env:      lookupEnv,
		schema:   newSchema(kinds),
		lines:    map[string]int{},
		set:      map[string]bool{},
		raw:      map[string]string{},
		failed:   map[string]bool{},
		extra:    map[string][]pair{},
		triggers: map[string]triggerAt{},
		active:   map[*yaml.Node]bool{},
	}
	root, ok := l.parseYAML(data)
	if !ok {
		return nil, l.errs
	}
	cfg := &Config{}
	l.decode(root, reflect.ValueOf(cfg).Elem(), "")
	if !l.exhausted {
		// Every block's type is known now: decode the keys types add.
		l.decodeSettings(cfg)
	}
	if l.exhausted {
		// A partial decode would only add follow-up noise.
		return nil, l.errs
	}
	v := &validator{c: cfg, l: l, secretUses: map[string]string{}}
	applyDefaults(cfg, v)
	cfg.SecretEnv = secretEnv(cfg, l.raw)
	validate(v)
	if len(l.errs) > 0 {
		inFileOrder(l.errs)
		return nil, l.errs
	}
	inFileOrder(l.warnings)
	cfg.Warnings = l.warnings
	return cfg, nil
}

// inFileOrder sorts problems by line; those without a line (a missing
// block) go last.
func inFileOrder(problems []FieldError) {
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i].Line, problems[j].Line
		return a != 0 && (b == 0 || a < b)
	})
}

// loader is the state of one Parse: where every key is, which keys have a
// value, the raw text of scalars that referenced variables, and the errors.
type loader struct {
	source   string
	env      func(string) (string, bool)
	schema   *schema
	errs     Errors
	warnings []FieldError

	lines  map[string]int    // key path → line of the key
	set    map[string]bool   // key paths with a non-null value
	raw    map[string]string // key path → scalar text before ${VAR} expansion
	failed map[string]bool   // key paths that already have an error
	// extra holds, by block path, the keys of tracker, agent and trigger
	// blocks that are left for the settings of the block's type.
	extra map[string][]pair
	// triggers notes, by project path, the key of its trigger block.
	triggers map[string]triggerAt

	active    map[*yaml.Node]bool // alias targets being decoded
	steps     int
	exhausted bool
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the root mapping of the single document in data (nil for
// an empty document), or false after recording a syntax error.
func (l *loader) parseYAML(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		l.syntaxError(err)
		return nil, false
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		l.syntaxError(err)
		return nil, false
	default:
		l.errorAt("", extra.Line, "a config holds one YAML document; found another")
		return nil, false
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode && !isNull(root) {
		l.errorAt("", root.Line, "want a mapping of blocks (sandbox, agents, repos, ...) at the top level")
		return nil, false
	}
	return root, true
}

func (l *loader) syntaxError(err error) {
	msg, line := err.Error(), 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	l.errs = append(l.errs, FieldError{Source: l.source, Line: line, Message: "invalid YAML: " + msg})
}

// errorAt records a problem at a known line.
func (l *loader) errorAt(path string, line int, format string, args ...any) {
	l.failed[path] = true
	l.errs = append(l.errs, FieldError{Source: l.source, Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

// fail records a semantic problem at path, placed on the line of path or of
// its nearest ancestor that is in the file. A path that already has an
// error (itself or an ancestor, e.g. a value that failed to decode) gets no
// second one.
func (l *loader) fail(path, format string, args ...any) {
	for p := path; p != ""; p = parent(p) {
		if l.failed[p] {
			return
		}
	}
	l.errorAt(path, l.lineOf(path), format, args...)
}

// warn records a warning at path, placed like fail's errors; a repeat of
// one already recorded at path is dropped.
func (l *loader) warn(path, format string, args ...any) {
	w := FieldError{Source: l.source, Path: path, Line: l.lineOf(path), Message: fmt.Sprintf(format, args...)}
	if !slices.Contains(l.warnings, w) {
		l.warnings = append(l.warnings, w)
	}
}

func (l *loader) lineOf(path string) int {
	for p := path; p != ""; p = parent(p) {
		if line, ok := l.lines[p]; ok {
			return line
		}
	}
	return 0
}
