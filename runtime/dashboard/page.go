package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// pageCSP allows only the page's own files and its own origin: no inline
// script, no CDN, no frames. Event payloads are drawn as text, never HTML.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Page returns the handler of the dashboard's static files under PagePrefix.
// The files hold no data and no secret, so they need no token: the page asks
// for the admin token, keeps it in the tab's sessionStorage and sends it as a
// bearer header to the API.
func Page() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("dashboard: embedded assets missing: " + err.Error()) // a build error, not a runtime one
	}
	files := http.StripPrefix(strings.TrimSuffix(PagePrefix, "/"), http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
