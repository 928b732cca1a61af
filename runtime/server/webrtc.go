package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/media/webrtc"
	"github.com/parley-voice/parley/runtime/call"
)

// WebRTCConfig configures browser calls: POST /v1/webrtc/{agent}, the call
// token endpoint and the page at /. The zero value suits a browser on the same
// host or LAN.
type WebRTCConfig struct {
	// ICEServers are STUN/TURN URLs used to gather candidates (none on a LAN).
	ICEServers []string
	// PublicIPs are announced instead of the host addresses (1:1 NAT).
	PublicIPs []string
	// UDPPortMin and UDPPortMax bound the media ports when both are set.
	UDPPortMin, UDPPortMax uint16
	// NoLoopback stops offering 127.0.0.1 candidates.
	NoLoopback bool
	// TokenTTL is the default lifetime of a minted call token (10 min); a
	// request may ask for less, or for at most MaxTokenTTL.
	TokenTTL time.Duration
	// OnClientReport receives the page's playback statistics (tests, metrics).
	OnClientReport func(callID string, r webrtc.ClientReport)
}

// MaxTokenTTL is the longest lifetime of a call token.
const MaxTokenTTL = 24 * time.Hour

func (s *Server) webrtcHandler() http.Handler {
	c := s.cfg.WebRTC
	return &webrtc.Handler{
		Start: s.startWebRTC, Authenticate: s.authenticateWebRTC, Logger: s.log,
		OnClientReport: c.OnClientReport, ICEServers: c.ICEServers, PublicIPs: c.PublicIPs,
		IncludeLoopback: !c.NoLoopback, UDPPortMin: c.UDPPortMin, UDPPortMax: c.UDPPortMax,
	}
}

// webrtcTokens signs call tokens with a key derived from the API token, so
// rotating the API token also revokes every call token.
func (s *Server) webrtcTokens() webrtc.Tokens {
	m := hmac.New(sha256.New, []byte(s.cfg.AuthToken))
	m.Write([]byte("parley webrtc call tokens"))
	return webrtc.Tokens{Key: m.Sum(nil)}
}

func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return r.URL.Query().Get("token")
}

// authenticateWebRTC accepts the API token or a call token minted for agent,
// then refuses unknown agents and a full node before any media is set up.
func (s *Server) authenticateWebRTC(r *http.Request, agent string) error {
	if s.cfg.AuthToken != "" {
		tok := bearer(r)
		if tok == "" {
			return errors.New("a call token is required (Authorization: Bearer <token>, from GET /v1/webrtc/token)")
		}
		if !constantTimeEqual(tok, s.cfg.AuthToken) {
			if err := s.webrtcTokens().Verify(tok, agent); err != nil {
				return err
			}
		}
	}
	if _, ok := s.agents.lookup(agent); !ok {
		return &webrtc.RefusalError{Status: http.StatusNotFound, Code: "unknown_agent",
			Err: fmt.Errorf("no agent %q on this server (have: %s)", agent, strings.Join(s.agentIDs(), ", "))}
	}
	if n := s.LiveCalls(); n >= s.cfg.MaxCalls {
		return &webrtc.RefusalError{Status: http.StatusServiceUnavailable, Code: "capacity",
			Err: fmt.Errorf("server is at its limit of %d concurrent calls; try again later", s.cfg.MaxCalls)}
	}
	return nil
}

func (s *Server) startWebRTC(ctx context.Context, req webrtc.StartRequest, conn *webrtc.Conn) (webrtc.CallHandle, error) {
	meta := map[string]string{"remote_addr": req.RemoteAddr}
	if req.UserAgent != "" {
		meta["user_agent"] = req.UserAgent
	}
	c, err := s.StartCall(req.Agent, call.Params{Transport: "webrtc", SampleRate: webrtc.SampleRate, Metadata: meta,
		Vars: map[string]string{"from": "", "to": ""}}, conn)
	if err != nil {
		var re *native.RefusalError
		if errors.As(err, &re) {
			status := http.StatusServiceUnavailable
			if re.Code == "unknown_agent" {
				status = http.StatusNotFound
			}
			return nil, &webrtc.RefusalError{Status: status, Code: re.Code, Err: re.Err}
		}
		return nil, &webrtc.RefusalError{Status: http.StatusInternalServerError, Code: "start_failed",
			Err: fmt.Errorf("starting the call: %w", err)}
	}
	return c, nil
}

// mintWebRTCToken answers GET /v1/webrtc/token?agent=ID[&ttl=5m] with a call
// token for that agent. It needs the API token: a site's back end calls it and
// hands the token to the browser.
func (s *Server) mintWebRTCToken(w http.ResponseWriter, r *http.Request) {
	if err := s.authenticate(r); err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "unauthorized", "message": err.Error()}})
		return
	}
	agent := r.URL.Query().Get("agent")
	if _, ok := s.agents.lookup(agent); !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "unknown_agent",
			"message": fmt.Sprintf("no agent %q on this server (have: %s)", agent, strings.Join(s.agentIDs(), ", "))}})
		return
	}
	if s.cfg.AuthToken == "" {
		writeJSON(w, http.StatusOK, map[string]any{"agent": agent, "token": "", "auth_required": false,
			"url": "/?agent=" + url.QueryEscape(agent)})
		return
	}
	ttl := s.cfg.WebRTC.TokenTTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	if v := r.URL.Query().Get("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > MaxTokenTTL {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "bad_request",
				"message": fmt.Sprintf("ttl %q must be a duration between 1s and %s", v, MaxTokenTTL)}})
			return
		}
		ttl = d
	}
	tok, exp := s.webrtcTokens().Mint(agent, ttl)
	writeJSON(w, http.StatusOK, map[string]any{"agent": agent, "token": tok, "auth_required": true,
		"expires_at": exp.UTC().Format(time.RFC3339),
		"url":        "/?agent=" + url.QueryEscape(agent) + "&token=" + url.QueryEscape(tok)})
}
