package githubfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// appOf checks the request's RS256 JWT, whose issuer is the App id, and
// returns that id; false after it answered 401.
func (s *Server) appOf(w http.ResponseWriter, r *http.Request) (int64, bool) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") {
		s.fail(w, r, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return 0, false
	}
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		if _, ok := tok.Method.(*jwt.SigningMethodRSA); !ok {
			return nil, jwt.ErrSignatureInvalid
		}
		iss, ok := tok.Claims.(*jwt.RegisteredClaims)
		if !ok {
			return nil, jwt.ErrTokenInvalidClaims
		}
		id, err := strconv.ParseInt(iss.Issuer, 10, 64)
		if err != nil {
			return nil, jwt.ErrTokenInvalidIssuer
		}
		pub, ok := s.apps[id]
		if !ok {
			return nil, jwt.ErrTokenInvalidIssuer
		}
		return pub, nil
	})
	if err != nil {
		s.fail(w, r, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return 0, false
	}
	id, _ := strconv.ParseInt(claims.Issuer, 10, 64)
	return id, true
}

// getApp is GET /app: the App the JWT authenticates, with its slug.
func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.appOf(w, r)
	if !ok {
		return
	}
	owner := s.user(User{Login: "acme"})
	created := ts(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	s.reply(w, r, http.StatusOK, map[string]any{
		"id": id, "slug": AppSlug, "node_id": nodeID("A_", id), "client_id": fmt.Sprintf("Iv23li%08d", id),
		"owner": owner, "name": "Agent Smith", "description": "Turns tickets into pull requests",
		"external_url": "https://agent-smith.example", "html_url": s.URL + "/apps/" + AppSlug,
		"created_at": created, "updated_at": created,
		"permissions": map[string]string{"issues": "write", "pull_requests": "write", "contents": "write", "metadata": "read"},
		"events":      []string{"issues", "issue_comment"}, "installations_count": 1,
	})
}

// createInstallationToken is POST /app/installations/{id}/access_tokens:
// the caller authenticates as the App with a JWT; the answer is an
// installation token valid for an hour, acting as the App's bot.
func (s *Server) createInstallationToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.appOf(w, r); !ok {
		return
	}
	if _, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err != nil {
		s.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	buf := make([]byte, 18)
	_, _ = rand.Read(buf)
	token := "ghs_" + hex.EncodeToString(buf)
	s.tokens[token] = caller{user: AppBot, association: AssociationNone}
	s.reply(w, r, http.StatusCreated, map[string]any{
		"token":                token,
		"expires_at":           ts(time.Now().Add(time.Hour)),
		"permissions":          map[string]string{"issues": "write", "pull_requests": "write", "contents": "write", "metadata": "read"},
		"repository_selection": "all",
	})
}
