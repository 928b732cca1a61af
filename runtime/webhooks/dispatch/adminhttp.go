package dispatch

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"

	"github.com/parley-voice/parley/runtime/adminauth"
)

// AdminPrefix is the path the admin handler serves under. Mount the handler
// there as it is: it routes on the full path.
const AdminPrefix = "/v1/admin/webhooks/"

// Limits of the admin API.
const (
	// AdminTimeout bounds the work of one admin request.
	AdminTimeout = 30 * time.Second
	// MaxAdminBody is the largest request body the admin API reads.
	MaxAdminBody = 64 << 10

	maxReasonLen  = 1024 // bytes of a disable reason
	maxQueryValue = 256  // bytes of an id or a glob in a query
	maxEventLimit = 1000
	maxDLQLimit   = 10000
)

// adminAPI serves the dispatcher's admin methods as JSON over HTTP.
type adminAPI struct {
	d          *Dispatcher
	log        *slog.Logger
	token      adminauth.Token
	configured bool
}

// NewAdminHandler returns the webhook admin API (JSON) under AdminPrefix:
// endpoints and their health, stored events, attempts, the dead-letter queue,
// replay, enable and disable. Every request needs "Authorization: Bearer
// <token>"; with an empty token the API refuses everything (403), so an
// unconfigured server never exposes it. docs/WEBHOOKS-ADMIN.md describes the
// routes.
func NewAdminHandler(d *Dispatcher, token string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	a := &adminAPI{d: d, log: log.With("component", "webhooks-admin"), token: adminauth.New(token), configured: token != ""}
	mux := http.NewServeMux()
	a.route(mux, http.MethodGet, "endpoints", a.listEndpoints)
	a.route(mux, http.MethodGet, "endpoints/{id}", a.getEndpoint)
	a.route(mux, http.MethodPost, "endpoints/{id}/enable", a.enable)
	a.route(mux, http.MethodPost, "endpoints/{id}/disable", a.disable)
	a.route(mux, http.MethodGet, "events", a.listEvents)
	a.route(mux, http.MethodGet, "events/{event_id}/attempts", a.listAttempts)
	a.route(mux, http.MethodGet, "dlq", a.listDLQ)
	a.route(mux, http.MethodPost, "replay", a.replay)
	mux.HandleFunc(AdminPrefix, func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, &adminError{http.StatusNotFound, "not_found", fmt.Sprintf("no admin route %s %s", r.Method, r.URL.Path)})
	})
	return a.guard(mux)
}

// adminError is an error with the HTTP status and code the client sees.
type adminError struct {
	status int
	code   string
	msg    string
}

func (e *adminError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &adminError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, args...)}
}

// route serves method on the path under AdminPrefix, and answers 405 with
// Allow for any other method on it.
func (a *adminAPI) route(mux *http.ServeMux, method, rel string, h func(*http.Request) (any, error)) {
	p := AdminPrefix + rel
	mux.HandleFunc(method+" "+p, func(w http.ResponseWriter, r *http.Request) {
		// Bounded here, with the ResponseWriter, so that the server closes a
		// connection whose body was too large.
		r.Body = http.MaxBytesReader(w, r.Body, MaxAdminBody)
		v, err := h(r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.reply(w, http.StatusOK, v)
	})
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		a.fail(w, r, &adminError{http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, method)})
	})
}

// guard gives every request an id, headers, authentication, a time limit and
// a clean 500 instead of a panic.
func (a *adminAPI) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Request-Id", newRequestID())
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if !a.configured {
			a.fail(w, r, &adminError{http.StatusForbidden, "admin_disabled",
				"the webhook admin API is disabled: configure an admin token (admin.token in the server config, --admin-token or PARLEY_ADMIN_TOKEN) and send it as \"Authorization: Bearer <token>\""})
			return
		}
		if err := a.authenticate(r); err != nil {
			h.Set("WWW-Authenticate", err.challenge)
			a.fail(w, r, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), AdminTimeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.log.Error("webhook admin request panicked", "method", r.Method, "path", r.URL.Path,
					"request_id", h.Get("X-Request-Id"), "panic", fmt.Sprint(p))
				a.fail(w, r, errors.New("internal error"))
			}
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authError is a refused credential, with its WWW-Authenticate challenge.
type authError struct {
	adminError
	challenge string
}

func (a *adminAPI) authenticate(r *http.Request) *authError {
	err := a.token.Check(r)
	if err == nil {
		return nil
	}
	if errors.Is(err, adminauth.ErrInvalid) {
		a.log.Warn("webhook admin request with a wrong token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
	}
	return &authError{adminError{http.StatusUnauthorized, "unauthorized", err.Error()}, adminauth.Challenge("parley-admin", err)}
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "adm_" + hex.EncodeToString(b[:])
}

// reply writes v as indented JSON.
func (a *adminAPI) reply(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages quote "<token>"; this is not HTML
	if err := enc.Encode(v); err != nil {
		a.log.Error("webhook admin response not encodable", "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error": "internal error: the response could not be encoded", "code": "internal"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorBody is every error response.
type errorBody struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// fail answers with err's status and code; errors that are not the client's
// are logged with the request id.
func (a *adminAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := classifyAdminError(err)
	id := w.Header().Get("X-Request-Id")
	if e.status >= 500 {
		a.log.Error("webhook admin request failed", "method", r.Method, "path", r.URL.Path, "request_id", id,
			"status", e.status, "err", err)
	}
	a.reply(w, e.status, errorBody{Error: e.msg, Code: e.code, RequestID: id})
}

func classifyAdminError(err error) *adminError {
	var ae *adminError
	var au *authError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &au):
		return &au.adminError
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrUnknownEndpoint):
		return &adminError{http.StatusNotFound, "unknown_endpoint", err.Error()}
	case errors.Is(err, ErrDisabledInConfig):
		return &adminError{http.StatusConflict, "disabled_in_config", err.Error()}
	case errors.As(err, &tooBig):
		return &adminError{http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body larger than %d bytes", tooBig.Limit)}
	case errors.Is(err, context.DeadlineExceeded):
		return &adminError{http.StatusGatewayTimeout, "timeout",
			fmt.Sprintf("the webhook queue did not answer within %s: %v", AdminTimeout, err)}
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrNoServers),
		errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrDisconnected):
		return &adminError{http.StatusServiceUnavailable, "queue_unavailable", "the webhook queue is unavailable: " + err.Error()}
	}
	return &adminError{http.StatusInternalServerError, "internal", err.Error()}
}

// query returns the request's query, refusing parameters outside allowed
// and repeated ones: a misspelt filter is an error, not a silent "match all".
func query(r *http.Request, allowed ...string) (map[string]string, error) {
	q := r.URL.Query()
	out := make(map[string]string, len(q))
	for k, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			if len(allowed) == 0 {
				return nil, badRequest("unknown query parameter %q (this route takes none)", k)
			}
			return nil, badRequest("unknown query parameter %q (this route takes %s)", k, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, badRequest("query parameter %q given %d times", k, len(vs))
		}
		if len(vs[0]) > maxQueryValue {
			return nil, badRequest("query parameter %q is longer than %d bytes", k, maxQueryValue)
		}
		out[k] = vs[0]
	}
	return out, nil
}

// limitParam reads "limit": absent means 0 (the method's default).
func limitParam(q map[string]string, most int) (int, error) {
	s, ok := q["limit"]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, badRequest("limit must be a whole number from 1 to %d, got %q", most, s)
	}
	return n, nil
}

// timeParam reads an RFC 3339 time.
func timeParam(q map[string]string, name string) (time.Time, error) {
	s, ok := q[name]
	if !ok || s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest("%s must be an RFC 3339 time such as 2026-11-01T10:00:00Z, got %q", name, s)
	}
	return t, nil
}

func checkRange(since, until time.Time) error {
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return badRequest("since (%s) must be before until (%s)", since.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	}
	return nil
}

// decodeBody reads a JSON body strictly into v: one value, no unknown
// fields (route has bounded the body to MaxAdminBody bytes). An empty body is
// an error unless optional.
func decodeBody(r *http.Request, v any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &adminError{http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Sprintf("request body must be application/json, got %q", ct)}
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return err
		case errors.Is(err, io.EOF):
			if optional {
				return nil
			}
			return &adminError{http.StatusBadRequest, "bad_json", "request body: expected a JSON object"}
		}
		return &adminError{http.StatusBadRequest, "bad_json", "request body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return &adminError{http.StatusBadRequest, "bad_json", "request body: expected one JSON object, found more after it"}
	}
	return nil
}

// EndpointList is the answer of GET endpoints.
type EndpointList struct {
	Endpoints []EndpointStatus `json:"endpoints"`
	Producer  ProducerStats    `json:"producer"`
}

func (a *adminAPI) listEndpoints(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	eps, err := a.d.Endpoints(r.Context())
	if err != nil {
		return nil, err
	}
	return EndpointList{Endpoints: eps, Producer: a.d.Stats()}, nil
}

func (a *adminAPI) getEndpoint(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	return a.d.Endpoint(r.Context(), r.PathValue("id"))
}

func (a *adminAPI) enable(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if err := a.d.Enable(r.Context(), id); err != nil {
		return nil, err
	}
	a.log.Info("webhook endpoint enabled through the admin API", "endpoint", id, "remote", r.RemoteAddr)
	return a.d.Endpoint(r.Context(), id)
}

// DisableRequest is the optional body of POST endpoints/{id}/disable.
type DisableRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (a *adminAPI) disable(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	var req DisableRequest
	if err := decodeBody(r, &req, true); err != nil {
		return nil, err
	}
	if len(req.Reason) > maxReasonLen {
		return nil, badRequest("reason is longer than %d bytes", maxReasonLen)
	}
	if strings.IndexFunc(req.Reason, unicode.IsControl) >= 0 {
		return nil, badRequest("reason must be one line of text, without control characters")
	}
	id := r.PathValue("id")
	if err := a.d.Disable(r.Context(), id, req.Reason); err != nil {
		return nil, err
	}
	a.log.Info("webhook endpoint disabled through the admin API", "endpoint", id, "reason", req.Reason, "remote", r.RemoteAddr)
	return a.d.Endpoint(r.Context(), id)
}

// EventList is the answer of GET events. NextBefore, when set, is the
// "before" of the next (older) page.
type EventList struct {
	Events     []EventInfo `json:"events"`
	NextBefore uint64      `json:"next_before,omitempty"`
}

func (a *adminAPI) listEvents(r *http.Request) (any, error) {
	q, err := query(r, "call_id", "type", "before", "limit", "body")
	if err != nil {
		return nil, err
	}
	eq := EventQuery{CallID: q["call_id"], Type: q["type"]}
	if eq.Type != "" {
		if _, err := path.Match(eq.Type, ""); err != nil {
			return nil, badRequest("type is not a valid glob: %q", eq.Type)
		}
	}
	if s, ok := q["before"]; ok {
		if eq.Before, err = strconv.ParseUint(s, 10, 64); err != nil || eq.Before == 0 {
			return nil, badRequest("before must be a queue position (a positive whole number), got %q", s)
		}
	}
	if eq.Limit, err = limitParam(q, maxEventLimit); err != nil {
		return nil, err
	}
	if s, ok := q["body"]; ok {
		if eq.Body, err = strconv.ParseBool(s); err != nil {
			return nil, badRequest("body must be true or false, got %q", s)
		}
	}
	evs, err := a.d.Events(r.Context(), eq)
	if err != nil {
		return nil, err
	}
	out := EventList{Events: evs}
	if limit := cmp.Or(eq.Limit, 50); len(evs) == limit && len(evs) > 0 && evs[len(evs)-1].QueueSeq > 1 {
		out.NextBefore = evs[len(evs)-1].QueueSeq
	}
	return out, nil
}

// AttemptList is the answer of GET events/{event_id}/attempts.
type AttemptList struct {
	Attempts []AttemptRecord `json:"attempts"`
}

func (a *adminAPI) listAttempts(r *http.Request) (any, error) {
	q, err := query(r, "endpoint")
	if err != nil {
		return nil, err
	}
	ep := q["endpoint"]
	if ep != "" && a.d.byID[ep] == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEndpoint, ep)
	}
	recs, err := a.d.Attempts(r.Context(), r.PathValue("event_id"), ep)
	if err != nil {
		return nil, err
	}
	return AttemptList{Attempts: recs}, nil
}

// DeadLetterList is the answer of GET dlq.
type DeadLetterList struct {
	DeadLetters []DeadLetter `json:"dead_letters"`
}

func (a *adminAPI) listDLQ(r *http.Request) (any, error) {
	q, err := query(r, "endpoint", "event_id", "since", "until", "limit")
	if err != nil {
		return nil, err
	}
	dq := DLQQuery{Endpoint: q["endpoint"], EventID: q["event_id"]}
	if dq.Since, err = timeParam(q, "since"); err != nil {
		return nil, err
	}
	if dq.Until, err = timeParam(q, "until"); err != nil {
		return nil, err
	}
	if err := checkRange(dq.Since, dq.Until); err != nil {
		return nil, err
	}
	if dq.Limit, err = limitParam(q, maxDLQLimit); err != nil {
		return nil, err
	}
	dls, err := a.d.DeadLetters(r.Context(), dq)
	if err != nil {
		return nil, err
	}
	return DeadLetterList{DeadLetters: dls}, nil
}

func (a *adminAPI) replay(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	var req ReplayRequest
	if err := decodeBody(r, &req, false); err != nil {
		return nil, err
	}
	switch {
	case req.Endpoint == "":
		return nil, badRequest("replay: name the endpoint (\"endpoint\")")
	case req.All && (req.EventID != "" || !req.Since.IsZero() || !req.Until.IsZero()):
		return nil, badRequest("replay: \"all\" replays the endpoint's whole DLQ; do not combine it with event_id, since or until")
	case !req.All && req.EventID == "" && req.Since.IsZero() && req.Until.IsZero():
		return nil, badRequest("replay: say what to replay: \"event_id\", a time range (\"since\", \"until\") or \"all\": true")
	}
	if err := checkRange(req.Since, req.Until); err != nil {
		return nil, err
	}
	res, err := a.d.Replay(r.Context(), req)
	if err != nil {
		return nil, err
	}
	a.log.Info("webhook dead letters replayed through the admin API", "endpoint", req.Endpoint, "event_id", req.EventID,
		"since", req.Since, "until", req.Until, "all", req.All, "replayed", res.Replayed, "remote", r.RemoteAddr)
	return res, nil
}
