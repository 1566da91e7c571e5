package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Role is what a token may do.
type Role string

// The roles.
const (
	// RoleRead reads runs and their logs.
	RoleRead Role = "read"
	// RoleAdmin also cancels and retries runs.
	RoleAdmin Role = "admin"
)

// TokensEnv is the environment variable that holds the API tokens.
const TokensEnv = "AGENTSMITH_API_TOKENS"

// minTokenLen keeps guessable tokens out: 16 characters of a random
// generator's output are out of reach of guessing over HTTP.
const minTokenLen = 16

// Identity is who a request acts for: a token's name and role.
type Identity struct {
	Name string
	Role Role
}

// Admin reports whether the identity may steer runs.
func (id Identity) Admin() bool { return id.Role == RoleAdmin }

type token struct {
	Identity
	secret []byte
}

// Tokens are the credentials the API and the page accept.
type Tokens struct {
	byName map[string]token
}

// ParseTokens reads AGENTSMITH_API_TOKENS: entries NAME:ROLE:TOKEN separated
// by commas or white space, ROLE read or admin, TOKEN at least 16
// characters. The name says who cancelled or retried a run. Empty text
// gives no tokens: the API then refuses every request.
func ParseTokens(text string) (*Tokens, error) {
	t := &Tokens{byName: map[string]token{}}
	seen := map[string]string{}
	var errs []error
	entries := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	for i, e := range entries {
		name, rest, ok1 := strings.Cut(e, ":")
		role, secret, ok2 := strings.Cut(rest, ":")
		where := fmt.Sprintf("%s entry %d", TokensEnv, i+1)
		switch {
		case !ok1 || !ok2 || name == "":
			errs = append(errs, fmt.Errorf("%s: want NAME:ROLE:TOKEN", where))
			continue
		case Role(role) != RoleRead && Role(role) != RoleAdmin:
			// The value is not quoted: a token written where the role goes
			// must not reach the log.
			errs = append(errs, fmt.Errorf("%s (%s): the role (second field) is neither read nor admin", where, name))
			continue
		case len(secret) < minTokenLen:
			errs = append(errs, fmt.Errorf("%s (%s): the token has %d characters, fewer than %d (make one with: openssl rand -hex 24)", where, name, len(secret), minTokenLen))
			continue
		}
		if _, dup := t.byName[name]; dup {
			errs = append(errs, fmt.Errorf("%s: name %q is used twice", where, name))
			continue
		}
		if other, dup := seen[secret]; dup {
			errs = append(errs, fmt.Errorf("%s (%s): same token as %s", where, name, other))
			continue
		}
		seen[secret] = name
		t.byName[name] = token{Identity{name, Role(role)}, []byte(secret)}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.byName) }

// lookup finds the token presented, comparing with every token in constant
// time.
func (t *Tokens) lookup(presented string) (Identity, bool) {
	var found Identity
	ok := false
	for _, tok := range t.byName {
		if subtle.ConstantTimeCompare(tok.secret, []byte(presented)) == 1 {
			found, ok = tok.Identity, true
		}
	}
	return found, ok
}

// A browser session is a cookie holding a token's name, an expiry and a
// MAC of both keyed by that token: the token itself never reaches the
// browser, every replica verifies the cookie with the same Secret, and
// removing a token ends its sessions.
const (
	sessionCookie = "agentsmith_session"
	sessionTTL    = 12 * time.Hour
)

func (t *Tokens) mac(tok token, name string, expires int64) string {
	m := hmac.New(sha256.New, tok.secret)
	fmt.Fprintf(m, "agent-smith session\x00%s\x00%d", name, expires)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session is the cookie value for id, valid until expires.
func (t *Tokens) session(id Identity, expires time.Time) string {
	exp := expires.Unix()
	name := base64.RawURLEncoding.EncodeToString([]byte(id.Name))
	return name + "." + strconv.FormatInt(exp, 10) + "." + t.mac(t.byName[id.Name], id.Name, exp)
}

// verifySession reads a session cookie value.
func (t *Tokens) verifySession(v string, now time.Time) (Identity, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return Identity{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || err2 != nil || now.Unix() >= exp {
		return Identity{}, false
	}
	tok, ok := t.byName[string(raw)]
	if !ok || !hmac.Equal([]byte(t.mac(tok, tok.Name, exp)), []byte(parts[2])) {
		return Identity{}, false
	}
	return tok.Identity, true
}

// authenticate finds who r acts for: a bearer token, else a session
// cookie. fromCookie tells which, for the page's redirects.
func (t *Tokens) authenticate(r *http.Request, now time.Time) (id Identity, ok, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return Identity{}, false, false
		}
		id, ok = t.lookup(strings.TrimSpace(cred))
		return id, ok, false
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		id, ok = t.verifySession(c.Value, now)
		return id, ok, true
	}
	return Identity{}, false, false
}

// setSession gives the browser a session cookie for id: HttpOnly (no
// script reads it), SameSite=Strict (no other site's page sends it),
// Secure when the request came over TLS.
func (t *Tokens) setSession(w http.ResponseWriter, r *http.Request, id Identity, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: t.session(id, now.Add(sessionTTL)), Path: "/",
		MaxAge: int(sessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	})
}

func clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
}
