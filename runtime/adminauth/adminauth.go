// Package adminauth checks the admin token that protects Parley's admin APIs
// (webhooks, agents, calls, the dashboard, /metrics): one parser of
// "Authorization: Bearer <token>" and one constant-time comparison, so every
// API accepts and refuses the same way. Each API keeps its own error body.
package adminauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

var (
	// ErrMissing: the request carries no bearer token.
	ErrMissing = errors.New(`missing admin token: send "Authorization: Bearer <token>"`)
	// ErrInvalid: the request's bearer token is not the admin token.
	ErrInvalid = errors.New("invalid admin token")
)

// Token is a configured admin token, kept only as its SHA-256 digest.
type Token struct {
	sum [sha256.Size]byte
	set bool
}

// New returns the Token for s; an empty s is a Token that is not configured.
func New(s string) Token {
	if s == "" {
		return Token{}
	}
	return Token{sum: sha256.Sum256([]byte(s)), set: true}
}

// Configured reports whether an admin token was set. APIs refuse every
// request (403) when none is.
func (t Token) Configured() bool { return t.set }

// Check returns nil when r carries the admin token as a bearer token,
// ErrMissing when it carries none and ErrInvalid otherwise (also when no token
// is configured). Fixed-size digests compared in constant time reveal
// nothing about the token, not even its length. Tokens in URLs are never
// read.
func (t Token) Check(r *http.Request) error {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return ErrMissing
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], t.sum[:]) != 1 || !t.set {
		return ErrInvalid
	}
	return nil
}

// Challenge is the WWW-Authenticate header value for a refusal by Check.
func Challenge(realm string, err error) string {
	c := `Bearer realm="` + realm + `"`
	if errors.Is(err, ErrInvalid) {
		c += `, error="invalid_token"`
	}
	return c
}
