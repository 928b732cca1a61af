package main

import (
	"log/slog"
	"net/http"

	"github.com/parley-voice/parley/media/twilio"
	"github.com/parley-voice/parley/runtime/outbound"
	"github.com/parley-voice/parley/runtime/server"
)

// mountOutbound serves POST /v1/calls and /v1/campaigns (admin token) and
// Twilio's status callbacks. Without Twilio credentials the API answers 503
// saying how to configure them.
func mountOutbound(srv *server.Server, adminToken, accountSID, authToken, apiURL, publicURL string, log *slog.Logger) {
	m := &outbound.Manager{
		HasAgent: func(id string) bool { _, ok := srv.Agent(id); return ok },
		Logger:   log,
	}
	if accountSID != "" && authToken != "" {
		m.Dialer = &outbound.Twilio{AccountSID: accountSID, AuthToken: authToken, PublicURL: publicURL, BaseURL: apiURL}
	}
	h := outbound.NewHandler(m, adminToken, log)
	srv.Mount("/v1/calls", h)
	srv.Mount("/v1/campaigns", h)
	srv.Mount("/v1/campaigns/", h)
	var validate func(*http.Request) error
	if authToken != "" {
		v := twilio.Validator{AuthToken: authToken, PublicURL: publicURL}
		validate = v.ValidateWebhook
	}
	srv.Mount("POST /v1/twilio/status", outbound.TwilioStatusHandler(m, validate, log))
}
