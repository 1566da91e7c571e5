package githubfake

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// createInstallationToken is POST /app/installations/{id}/access_tokens:
// the caller authenticates as the App with an RS256 JWT whose issuer is the
// App id; the answer is an installation token valid for an hour.
func (s *Server) createInstallationToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") {
		s.fail(w, r, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
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
		return
	}
	if _, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err != nil {
		s.fail(w, r, http.StatusNotFound, "Not Found")
		return
	}
	buf := make([]byte, 18)
	_, _ = rand.Read(buf)
	token := "ghs_" + hex.EncodeToString(buf)
	s.tokens[token] = true
	s.reply(w, r, http.StatusCreated, map[string]any{
		"token":                token,
		"expires_at":           ts(time.Now().Add(time.Hour)),
		"permissions":          map[string]string{"issues": "write", "pull_requests": "write", "contents": "write", "metadata": "read"},
		"repository_selection": "all",
	})
}
