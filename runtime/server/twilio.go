package server

import (
	"context"
	"errors"
	"maps"
	"net/http"

	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/media/twilio"
	"github.com/parley-voice/parley/runtime/call"
)

// twilioRate is the rate of Twilio calls inside Parley: the μ-law 8 kHz stream is
// resampled to it, because the agents' recognisers run at 16 kHz.
const twilioRate = 16000

func (s *Server) twilioValidator() twilio.Validator {
	return twilio.Validator{AuthToken: s.cfg.TwilioAuthToken, PublicURL: s.cfg.PublicURL}
}

// twilioVoice answers Twilio's voice webhook with TwiML that streams the call
// to /v1/twilio/media for the agent in the path.
func (s *Server) twilioVoice() http.Handler {
	return &twilio.VoiceHandler{
		Validator: s.twilioValidator(),
		Logger:    s.log,
		Agent: func(r *http.Request) (string, bool) {
			id := r.PathValue("agent")
			_, ok := s.agents.lookup(id)
			return id, ok
		},
	}
}

// twilioMedia serves Twilio's media WebSocket; with an auth token configured
// the upgrade must carry a valid X-Twilio-Signature.
func (s *Server) twilioMedia() http.Handler {
	h := &twilio.Handler{Start: s.startTwilio, Logger: s.log, SampleRate: twilioRate}
	if s.cfg.TwilioAuthToken != "" {
		v := s.twilioValidator()
		h.Authenticate = v.ValidateUpgrade
	}
	return h
}

func (s *Server) startTwilio(ctx context.Context, req twilio.StartRequest, conn *twilio.Conn) (twilio.CallHandle, error) {
	meta := make(map[string]string, len(req.CustomParameters)+3)
	maps.Copy(meta, req.CustomParameters)
	meta["call_sid"] = req.CallSid
	meta["stream_sid"] = req.StreamSid
	if req.AccountSid != "" {
		meta["account_sid"] = req.AccountSid
	}
	c, err := s.StartCall(req.Agent, call.Params{
		Transport: "twilio", From: req.From, To: req.To, SampleRate: req.SampleRate, Bandwidth: 4000,
		Metadata: meta, Vars: map[string]string{"from": req.From, "to": req.To},
	}, conn)
	if err != nil {
		var re *native.RefusalError
		if errors.As(err, &re) {
			return nil, &twilio.RefusalError{Code: re.Code, CloseCode: re.CloseCode, Err: re.Err}
		}
		return nil, err
	}
	return c, nil
}
