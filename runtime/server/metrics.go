package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// MountMetrics serves h (the Prometheus exposition of runtime/metrics) at
// GET /metrics. With a token (the admin token), a scrape must send it as
// "Authorization: Bearer <token>" (Prometheus: authorization.credentials or
// bearer_token); without one, /metrics is open. serve --metrics-addr offers
// an unauthenticated listener for an internal network instead.
func (s *Server) MountMetrics(h http.Handler, token string) {
	s.Mount("GET /metrics", RequireBearer(token, "parley-metrics", h))
}

// RequireBearer wraps h so that requests must carry token as a bearer token;
// others get 401 with a WWW-Authenticate challenge for realm. An empty token
// lets every request through. Tokens are compared as SHA-256 digests in
// constant time, which reveals nothing about the token, not even its length.
func RequireBearer(token, realm string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if len(auth) <= 7 || !strings.EqualFold(auth[:7], "bearer ") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized",
				"message": `missing token: send the admin token as "Authorization: Bearer <token>"`})
			return
		}
		got := sha256.Sum256([]byte(strings.TrimSpace(auth[7:])))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized", "message": "invalid token"})
			return
		}
		h.ServeHTTP(w, r)
	})
}
