package server

import (
	"net/http"

	"github.com/parley-voice/parley/runtime/adminauth"
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
	want := adminauth.New(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := want.Check(r); err != nil {
			w.Header().Set("WWW-Authenticate", adminauth.Challenge(realm, err))
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized", "message": err.Error()})
			return
		}
		h.ServeHTTP(w, r)
	})
}
