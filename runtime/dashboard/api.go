package dashboard

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/parley-voice/parley/runtime/adminauth"
)

// api serves the dashboard's JSON and event streams.
type api struct {
	cfg        Config
	log        *slog.Logger
	token      adminauth.Token
	configured bool
	streams    atomic.Int32
}

// NewAPI returns the dashboard API under APIPrefix:
//
//	GET info                the node: agents, whether webhooks are on
//	GET calls               live calls and the recent ended ones
//	GET calls/{id}          one call with its recent events
//	GET events[?call=ID]    a text/event-stream of events (one call's, with a snapshot first)
//
// Every request needs "Authorization: Bearer <token>"; with no token
// configured every request gets 403 saying how to set one. The token is never
// accepted in the URL.
func NewAPI(cfg Config) http.Handler {
	cfg = cfg.withDefaults()
	a := &api{cfg: cfg, log: cfg.Logger.With("component", "dashboard"), token: adminauth.New(cfg.Token), configured: cfg.Token != ""}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+APIPrefix+"info", a.info)
	mux.HandleFunc("GET "+APIPrefix+"calls", a.listCalls)
	mux.HandleFunc("GET "+APIPrefix+"calls/{id}", a.getCall)
	mux.HandleFunc("GET "+APIPrefix+"events", a.stream)
	mux.HandleFunc(APIPrefix, func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, http.StatusNotFound, "not_found", fmt.Sprintf("no dashboard route %s %s", r.Method, r.URL.Path))
	})
	return a.guard(mux)
}

// guard sets the headers every answer carries and checks the token.
func (a *api) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Request-Id", newRequestID())
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if !a.configured {
			a.fail(w, http.StatusForbidden, "admin_disabled",
				"the dashboard API is disabled: configure an admin token (admin.token in the server config, --admin-token or PARLEY_ADMIN_TOKEN), restart, and enter it on the dashboard page")
			return
		}
		if err := a.token.Check(r); err != nil {
			if errors.Is(err, adminauth.ErrInvalid) {
				a.log.Warn("dashboard request with a wrong token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			}
			h.Set("WWW-Authenticate", adminauth.Challenge("parley-admin", err))
			a.fail(w, http.StatusUnauthorized, "unauthorized", err.Error())
			return
		}
		next.ServeHTTP(w, r)
	})
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "dash_" + hex.EncodeToString(b[:])
}

// errorBody is every error answer, in the shape of the webhook admin API.
type errorBody struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

func (a *api) fail(w http.ResponseWriter, status int, code, msg string) {
	a.reply(w, status, errorBody{Error: msg, Code: code, RequestID: w.Header().Get("X-Request-Id")})
}

func (a *api) reply(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages quote "<token>"; this is not HTML
	if err := enc.Encode(v); err != nil {
		a.log.Error("dashboard answer not encodable", "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal error: the answer could not be encoded","code":"internal"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Info is the answer of GET info.
type Info struct {
	Agents   []string `json:"agents"`
	Webhooks bool     `json:"webhooks"`
	// RecentCalls and CallEvents are the recorder's limits.
	RecentCalls int `json:"recent_calls"`
	CallEvents  int `json:"call_events"`
}

func (a *api) info(w http.ResponseWriter, r *http.Request) {
	agents := []string{}
	if a.cfg.Agents != nil {
		agents = append(agents, a.cfg.Agents()...)
	}
	a.reply(w, http.StatusOK, Info{Agents: agents, Webhooks: a.cfg.Webhooks,
		RecentCalls: a.cfg.Recorder.maxRecent, CallEvents: a.cfg.Recorder.maxEvents})
}

func (a *api) listCalls(w http.ResponseWriter, r *http.Request) {
	a.reply(w, http.StatusOK, a.calls())
}

func (a *api) getCall(w http.ResponseWriter, r *http.Request) {
	d, ok := a.detail(r.PathValue("id"))
	if !ok {
		a.fail(w, http.StatusNotFound, "unknown_call", fmt.Sprintf("no call %q on this node: it is not live and not among the last %d ended calls", r.PathValue("id"), a.cfg.Recorder.maxRecent))
		return
	}
	a.reply(w, http.StatusOK, d)
}
