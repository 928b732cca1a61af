package outbound

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/parley-voice/parley/runtime/adminauth"
)

// MaxRequestBytes bounds a request body (a campaign of 10,000 numbers fits).
const MaxRequestBytes = 1 << 20

// NewHandler serves the outbound-call API, protected by the admin token
// ("Authorization: Bearer <token>"; without a configured token it refuses
// everything with 403):
//
//	POST /v1/calls                     {"agent","to","from"}           → 201 Placed
//	POST /v1/campaigns                 CampaignRequest                  → 201 CampaignStatus
//	GET  /v1/campaigns/{id}                                             → CampaignStatus
//	POST /v1/campaigns/{id}/cancel                                      → CampaignStatus
func NewHandler(m *Manager, token string, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{m: m, log: log}
	h.token = adminauth.New(token)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/calls", h.call)
	mux.HandleFunc("POST /v1/campaigns", h.startCampaign)
	mux.HandleFunc("GET /v1/campaigns/{id}", h.getCampaign)
	mux.HandleFunc("POST /v1/campaigns/{id}/cancel", h.cancel)
	return h.guard(mux)
}

type handler struct {
	m     *Manager
	token adminauth.Token
	log   *slog.Logger
}

func (h *handler) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.token.Configured() {
			writeError(w, http.StatusForbidden, "admin_disabled", "placing calls needs an admin token: set admin.token in the server config or --admin-token / $PARLEY_ADMIN_TOKEN")
			return
		}
		if err := h.token.Check(r); err != nil {
			w.Header().Set("WWW-Authenticate", adminauth.Challenge("parley", err))
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid admin token is required (Authorization: Bearer <token>)")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		next.ServeHTTP(w, r)
	})
}

func (h *handler) call(w http.ResponseWriter, r *http.Request) {
	var req Request
	if !decode(w, r, &req) {
		return
	}
	placed, err := h.m.Call(r.Context(), req)
	if err != nil {
		h.fail(w, err)
		return
	}
	h.log.Info("outbound call placed", "agent", req.Agent, "to", req.To, "carrier_call_id", placed.CarrierCallID)
	writeJSON(w, http.StatusCreated, placed)
}

func (h *handler) startCampaign(w http.ResponseWriter, r *http.Request) {
	var req CampaignRequest
	if !decode(w, r, &req) {
		return
	}
	st, err := h.m.StartCampaign(req)
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, st)
}

func (h *handler) getCampaign(w http.ResponseWriter, r *http.Request) {
	st, ok := h.m.Campaign(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_campaign", fmt.Sprintf("no campaign %q", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !h.m.Cancel(id) {
		writeError(w, http.StatusNotFound, "unknown_campaign", fmt.Sprintf("no campaign %q", id))
		return
	}
	// Give the runner a moment to mark what it will not dial.
	time.Sleep(10 * time.Millisecond)
	st, _ := h.m.Campaign(id)
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	var re *RequestError
	var ce *CarrierError
	switch {
	case errors.As(err, &re):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, ErrNoCarrier):
		writeError(w, http.StatusServiceUnavailable, "no_carrier", err.Error())
	case errors.As(err, &ce):
		status := http.StatusBadGateway
		if ce.Status == http.StatusTooManyRequests {
			status = http.StatusTooManyRequests
		}
		writeError(w, status, "carrier_error", err.Error())
	default:
		writeError(w, http.StatusBadGateway, "carrier_unreachable", err.Error())
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "bad_content_type", "send JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_json", "request body: "+strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad_json", "request body: one JSON object expected")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

// TwilioStatusHandler receives Twilio's call status callbacks (the
// StatusCallback the Twilio dialer sets: form fields CallSid, CallStatus …)
// and frees a campaign's slot when a call ends. validate checks
// X-Twilio-Signature; a failing request gets 403.
func TwilioStatusHandler(m *Manager, validate func(*http.Request) error, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if validate != nil {
			if err := validate(r); err != nil {
				log.Warn("twilio status callback refused", "err", err, "remote", r.RemoteAddr)
				http.Error(w, "invalid signature", http.StatusForbidden)
				return
			}
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		sid, status := r.PostForm.Get("CallSid"), r.PostForm.Get("CallStatus")
		switch status {
		case "completed", "busy", "no-answer", "failed", "canceled":
			m.Finished(sid, status)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
