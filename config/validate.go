package config

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// validate checks the decoded and defaulted config: required keys, enums,
// ranges, URLs, Kubernetes quantities and every cross-reference. Problems
// are recorded on l, all of them, and never repeat one already reported
// for the same key while decoding.
func validate(v *validator) {
	v.sandbox()
	v.orchestrator()
	v.agents()
	v.repos()
	v.trackers()
	v.pipelineTriggers()
	v.projects()
	v.skills()
	v.secrets()
	v.queue()
	v.limits()
}

type validator struct {
	c *Config
	l *loader
	// secretUses maps each referenced secret to the first key using it.
	secretUses map[string]string
}

func (v *validator) fail(path, format string, args ...any) { v.l.fail(path, format, args...) }

// quote shows a value in a message. A value that came from ${VAR}
// expansion is shown as written, since the expansion may be a secret.
func (v *validator) quote(path, value string) string {
	if raw, ok := v.l.raw[path]; ok {
		return fmt.Sprintf("%q", raw)
	}
	return fmt.Sprintf("%q", value)
}

func (v *validator) required(path, value string) bool {
	if value == "" {
		v.fail(path, "is required")
		return false
	}
	return true
}

func (v *validator) positive(path string, n int) {
	if n <= 0 {
		v.fail(path, "must be greater than 0, got %d", n)
	}
}

// positiveIfSet checks a number the file may leave out (0 then means: not
// set), but not set to 0 or below. A value inherited from elsewhere is
// checked where it is written.
func (v *validator) positiveIfSet(path string, n int) {
	if v.l.set[path] {
		v.positive(path, n)
	}
}

func (v *validator) oneOf(path, value string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	if value == "" {
		v.fail(path, "is required (one of %s)", strings.Join(allowed, ", "))
		return false
	}
	msg := fmt.Sprintf("unknown value %s (want one of %s)", v.quote(path, value), strings.Join(allowed, ", "))
	if s := closest(value, allowed); s != "" {
		msg = fmt.Sprintf("unknown value %s (did you mean %q?)", v.quote(path, value), s)
	}
	v.fail(path, "%s", msg)
	return false
}

// ref checks that name is a key of m; kind names the block in messages.
func ref[T any](v *validator, path, kind, name string, m map[string]T) bool {
	if !v.required(path, name) {
		return false
	}
	if _, ok := m[name]; ok {
		return true
	}
	names := slices.Sorted(maps.Keys(m))
	switch s := closest(name, names); {
	case s != "":
		v.fail(path, "%s %s is not defined (did you mean %q?)", kind, v.quote(path, name), s)
	case len(names) == 0:
		v.fail(path, "%s %s is not defined (there are no %ss)", kind, v.quote(path, name), kind)
	default:
		v.fail(path, "%s %s is not defined (defined: %s)", kind, v.quote(path, name), strings.Join(names, ", "))
	}
	return false
}

// secretRef checks that a key naming a secret names a defined one.
func (v *validator) secretRef(path, name string) {
	if ref(v, path, "secret", name, v.c.Secrets) {
		if _, seen := v.secretUses[name]; !seen {
			v.secretUses[name] = path
		}
	}
}

// onlyFor reports a key that has a value although it means nothing here.
func (v *validator) onlyFor(path, value, what string) {
	if value != "" {
		v.fail(path, "only applies to %s", what)
	}
}

// httpURL checks an absolute http(s) URL.
func (v *validator) httpURL(path, s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.fail(path, "want an absolute http(s) URL")
		return false
	}
	return true
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

// name checks the name of an agent, repo, tracker or project: names end up
// in pod labels and webhook paths.
func (v *validator) name(path, name string) {
	if !nameRE.MatchString(name) {
		v.fail(path, "name must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
	}
}

// resources checks Kubernetes quantities and that requests fit in limits.
// Only checks that involve a key of this block that the file sets (own) are
// made, so a project inheriting a bad global value is not blamed for it.
func (v *validator) resources(path string, r Resources, own func(key string) bool) {
	q := func(key, s string) (resource.Quantity, bool) {
		p := child(path, key)
		if !own(key) {
			qty, err := resource.ParseQuantity(s)
			return qty, err == nil && qty.Sign() > 0
		}
		if !v.required(p, s) {
			return resource.Quantity{}, false
		}
		qty, err := resource.ParseQuantity(s)
		if err != nil {
			v.fail(p, "%s is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 1Gi)", v.quote(p, s))
			return qty, false
		}
		if qty.Sign() <= 0 {
			v.fail(p, "must be greater than 0")
			return qty, false
		}
		return qty, true
	}
	for _, pair := range [][4]string{
		{"cpu_request", r.CPURequest, "cpu_limit", r.CPULimit},
		{"memory_request", r.MemoryRequest, "memory_limit", r.MemoryLimit},
		{"ephemeral_storage_request", r.EphemeralStorageRequest, "ephemeral_storage_limit", r.EphemeralStorageLimit},
	} {
		req, ok1 := q(pair[0], pair[1])
		lim, ok2 := q(pair[2], pair[3])
		if ok1 && ok2 && (own(pair[0]) || own(pair[2])) && req.Cmp(lim) > 0 {
			v.fail(child(path, pair[0]), "%s is more than %s %s",
				v.quote(child(path, pair[0]), pair[1]), pair[2], v.quote(child(path, pair[2]), pair[3]))
		}
	}
}

func (v *validator) pipeline(path, name string) {
	v.oneOf(path, name, pipelines...)
}

// secrets checks that every secret something uses has a value: an empty
// credential would only fail later, at the tracker or provider.
func (v *validator) secrets() {
	for _, name := range slices.Sorted(maps.Keys(v.secretUses)) {
		if v.c.Secrets[name] == "" {
			v.fail(child("secrets", name), "is empty but %s uses it", v.secretUses[name])
		}
	}
}
