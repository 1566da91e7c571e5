package config

import (
	"cmp"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// wholeVarRef matches a value that is exactly one ${VAR} reference.
var wholeVarRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secretEnv maps each secrets entry written exactly as ${VAR} to VAR.
func secretEnv(c *Config, raw map[string]string) map[string]string {
	out := map[string]string{}
	for name := range c.Secrets {
		if m := wholeVarRef.FindStringSubmatch(raw[child("secrets", name)]); m != nil {
			out[name] = m[1]
		}
	}
	return out
}

const redactedValue = "<redacted>"

// minScrubLen is the shortest secret value that Redacted also removes from
// other strings; shorter ones would garble ordinary text.
const minScrubLen = 4

// Redacted returns a deep copy that is safe to print or log: every secrets
// value and webhook_secret is "<redacted>", URL passwords (and http(s)
// userinfo that may be a bare token) are "<redacted>", and any secret value
// that also appears inside another string (a test_command, a URL) is cut
// out of it.
func (c *Config) Redacted() *Config {
	var values []string
	for _, v := range c.Secrets {
		values = append(values, v)
	}
	for _, t := range c.Trackers {
		values = append(values, t.WebhookSecret)
	}
	values = slices.DeleteFunc(values, func(v string) bool { return len(v) < minScrubLen })
	// Longest first, so a secret containing another is removed whole.
	slices.SortFunc(values, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	r := redactor{secrets: slices.Compact(values)}
	return r.copy(reflect.ValueOf(c), "").Interface().(*Config)
}

type redactor struct{ secrets []string }

// copy deep-copies v, redacting strings by the `redact` tag of the field
// they are in (mode) and scrubbing secret values everywhere.
func (r redactor) copy(v reflect.Value, mode string) reflect.Value {
	switch v.Kind() {
	case reflect.Interface:
		// A kind's settings: copied and redacted by their own tags.
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(r.copy(v.Elem(), mode))
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(r.copy(v.Elem(), mode))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				out.Field(i).Set(r.copy(v.Field(i), f.Tag.Get("redact")))
			}
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), r.copy(it.Value(), mode))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(r.copy(v.Index(i), mode))
		}
		return out
	case reflect.String:
		return reflect.ValueOf(r.scrub(v.String(), mode)).Convert(v.Type())
	}
	return v
}

func (r redactor) scrub(s, mode string) string {
	switch mode {
	case "value":
		if s != "" {
			return redactedValue
		}
	case "url":
		s = redactUserinfo(s)
	}
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redactedValue)
	}
	return s
}

// redactUserinfo hides the password of scheme://user:password@host URLs,
// and the whole userinfo of http(s) URLs without a password, where it is
// usually a token (https://TOKEN@github.com/...).
func redactUserinfo(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	switch {
	case hasPassword:
		return scheme + "://" + user + ":" + redactedValue + rest[at:]
	case strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "http"):
		return scheme + "://" + redactedValue + rest[at:]
	}
	return s
}
