package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/media/plivo"
	"github.com/parley-voice/parley/media/telnyx"
	"github.com/parley-voice/parley/media/vonage"
	"github.com/parley-voice/parley/runtime/call"
)

// Telnyx, Vonage and Plivo cannot sign their WebSocket upgrade the way Twilio
// does, so their media URLs carry a credential (docs/CARRIERS.md): the API
// token (--auth-token) or a signed, expiring call token minted for the agent
// (GET /v1/webrtc/token?agent=…&ttl=…), as ?token=… or a bearer header.

// authenticateCarrier checks the credential of a carrier's media upgrade for
// the agent in the path. Without an API token configured the media endpoints
// are open, like /v1/ws.
func (s *Server) authenticateCarrier(r *http.Request) error {
	if s.cfg.AuthToken == "" {
		return nil
	}
	tok := bearer(r)
	if tok == "" {
		return errors.New("missing token: put ?token=<API token or call token> in the media URL")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AuthToken)) == 1 {
		return nil
	}
	agent := r.PathValue("agent")
	if agent == "" {
		agent = r.URL.Query().Get("agent")
	}
	if err := s.webrtcTokens().Verify(tok, agent); err != nil {
		return fmt.Errorf("invalid token: %w", err)
	}
	return nil
}

// carrierRefusal turns StartCall's refusal into the carriers' type.
func carrierRefusal(err error) error {
	var re *native.RefusalError
	if errors.As(err, &re) {
		return &telnyx.RefusalError{Code: re.Code, CloseCode: re.CloseCode, Err: re.Err}
	}
	return err
}

// startCarrier starts a call for one of the carrier transports. Bandwidth
// 4000: their audio is 8 kHz (Vonage may send 16 kHz; 0 then).
func (s *Server) startCarrier(transport, agent, from, to, callID string, meta map[string]string, bandwidth int, conn call.Conn) (*call.Call, error) {
	m := make(map[string]string, len(meta)+1)
	maps.Copy(m, meta)
	if callID != "" {
		m["carrier_call_id"] = callID
	}
	c, err := s.StartCall(agent, call.Params{
		Transport: transport, From: from, To: to, SampleRate: 16000, Bandwidth: bandwidth,
		Metadata: m, Vars: map[string]string{"from": from, "to": to},
	}, conn)
	if err != nil {
		return nil, carrierRefusal(err)
	}
	return c, nil
}

func (s *Server) telnyxMedia() http.Handler {
	return &telnyx.Handler{Logger: s.log, Authenticate: s.authenticateCarrier,
		Start: func(ctx context.Context, req telnyx.StartRequest, conn *telnyx.Conn) (telnyx.CallHandle, error) {
			return s.startCarrier("telnyx", req.Agent, req.From, req.To, req.CallID, req.Metadata, 4000, conn)
		}}
}

func (s *Server) vonageMedia() http.Handler {
	return &vonage.Handler{Logger: s.log, Authenticate: s.authenticateCarrier,
		Start: func(ctx context.Context, req vonage.StartRequest, conn *vonage.Conn) (vonage.CallHandle, error) {
			bw := 0
			if strings.Contains(req.Metadata["content-type"], "rate=8000") {
				bw = 4000
			}
			return s.startCarrier("vonage", req.Agent, req.From, req.To, req.CallID, req.Metadata, bw, conn)
		}}
}

func (s *Server) plivoMedia() http.Handler {
	return &plivo.Handler{Logger: s.log, Authenticate: s.authenticateCarrier,
		Start: func(ctx context.Context, req plivo.StartRequest, conn *plivo.Conn) (plivo.CallHandle, error) {
			return s.startCarrier("plivo", req.Agent, req.From, req.To, req.CallID, req.Metadata, 4000, conn)
		}}
}
