package webrtc

import (
	_ "embed"
	"net/http"
)

//go:embed page/index.html
var page []byte

// Page serves the talk-to-an-agent page: pick an agent, call it with the
// microphone, hear it and read the live transcript. Query parameters:
// agent (preselect), token (a call token), autostart=1 (call at once).
func Page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL may carry a token
	_, _ = w.Write(page)
}
