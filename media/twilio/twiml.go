package twilio

import (
	"encoding/xml"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// MediaPath is where VoiceHandler points Twilio's media stream by default.
const MediaPath = "/v1/twilio/media"

// Webhook form parameters forwarded into the stream's custom parameters.
const maxFormBytes = 64 << 10

// VoiceHandler answers Twilio's voice webhook (POST, form-encoded) with TwiML
// that connects the call to a bidirectional media stream for one agent. The
// agent, the caller's and the called number and the call SID travel as
// <Parameter>s: the Stream URL cannot carry a query string.
type VoiceHandler struct {
	// Validator checks X-Twilio-Signature; with an empty AuthToken every request
	// is accepted and a warning is logged once.
	Validator Validator
	// Agent returns the agent of a request (normally the {agent} path value) and
	// whether it exists; an unknown agent answers 404.
	Agent func(r *http.Request) (string, bool)
	// MediaPath is the media WebSocket's path (MediaPath).
	MediaPath string
	Logger    *slog.Logger

	warnOnce sync.Once
}

// ServeHTTP validates the webhook and writes the TwiML.
func (h *VoiceHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if h.Validator.AuthToken == "" {
		h.warnOnce.Do(func() {
			log.Warn("twilio webhooks and media streams are not authenticated: set the Twilio auth token (--twilio-auth-token)")
		})
	} else if err := h.Validator.ValidateWebhook(r); err != nil {
		log.Warn("twilio voice webhook refused", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
		return
	}
	agent, ok := h.Agent(r)
	if !ok {
		http.Error(w, "no such agent", http.StatusNotFound)
		return
	}
	streamURL := h.streamURL(r)
	params := [][2]string{{"agent", agent}, {"from", r.PostForm.Get("From")}, {"to", r.PostForm.Get("To")}, {"call_sid", r.PostForm.Get("CallSid")}}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write([]byte(TwiML(streamURL, params)))
	log.Info("twilio call answered", "agent", agent, "call_sid", r.PostForm.Get("CallSid"))
}

// streamURL is the wss:// URL of the media WebSocket as Twilio must reach it.
func (h *VoiceHandler) streamURL(r *http.Request) string {
	p := h.MediaPath
	if p == "" {
		p = MediaPath
	}
	base := h.Validator.baseURL(r, "wss", "ws")
	// Twilio only connects to wss://; a plain-HTTP request (a local test, or a
	// proxy that hides TLS) still gets wss unless PublicURL says http.
	if h.Validator.PublicURL == "" {
		base.Scheme = "wss"
	}
	return (&url.URL{Scheme: base.Scheme, Host: base.Host, Path: base.Path + p}).String()
}

// TwiML returns a <Response><Connect><Stream> document for streamURL with the
// given parameters, in order; all text is XML-escaped.
func TwiML(streamURL string, params [][2]string) string {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<Response><Connect><Stream url="`)
	escape(&b, streamURL)
	b.WriteString(`">`)
	for _, p := range params {
		b.WriteString(`<Parameter name="`)
		escape(&b, p[0])
		b.WriteString(`" value="`)
		escape(&b, p[1])
		b.WriteString(`"/>`)
	}
	b.WriteString(`</Stream></Connect></Response>`)
	return b.String()
}

func escape(b *strings.Builder, s string) { _ = xml.EscapeText(b, []byte(s)) }
