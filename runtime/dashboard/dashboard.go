// Package dashboard serves Parley's live operations dashboard: a single-page
// app (plain HTML, CSS and JavaScript modules embedded in the binary, no build
// step, nothing loaded from elsewhere) at /dashboard/, and the JSON and
// Server-Sent Events API it reads under /v1/admin/dashboard/, protected by the
// admin token. It shows the live calls, each call's transcript as it happens
// with a per-turn latency waterfall and its events, the recent calls, and the
// webhook endpoints, deliveries and dead-letter queue (through the webhook
// admin API, /v1/admin/webhooks/).
//
// A Recorder, registered as a synchronous sink on the server's event bus,
// keeps the recent history in memory; nothing is stored on disk.
package dashboard

import (
	"log/slog"
	"time"

	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

// Paths the dashboard is served under. Mount the handlers there as they are:
// they route on the full path.
const (
	// PagePrefix serves the static page and its assets.
	PagePrefix = "/dashboard/"
	// APIPrefix serves the JSON and event-stream API.
	APIPrefix = "/v1/admin/dashboard/"
)

// Config configures the dashboard API.
type Config struct {
	// Token is the admin token, sent by the page as "Authorization: Bearer
	// <token>". Empty turns the API off: every request gets 403.
	Token string
	// Recorder holds the calls' recent events; it must be a sink of Bus.
	Recorder *Recorder
	// Bus streams events live to open pages.
	Bus *events.Bus
	// Calls returns the live calls on this node (Server.Calls); nil lists
	// the calls the Recorder has seen start and not end.
	Calls func() []call.Info
	// Agents returns the ids of the agents this node serves, for the header
	// (Server's list, which changes when agents are reloaded); nil: none.
	Agents func() []string
	// Webhooks says whether a webhook dispatcher and its admin API run on
	// this node; without one the webhooks view says so.
	Webhooks bool
	// MaxStreams bounds the event streams open at once (default 32).
	MaxStreams int
	// KeepAlive is how often an idle event stream sends a comment so that
	// proxies keep it open (default 15s).
	KeepAlive time.Duration
	// Logger receives the API's logs; slog.Default when nil.
	Logger *slog.Logger
	// Now is the clock of live call durations; time.Now when nil.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Recorder == nil {
		c.Recorder = NewRecorder(0, 0)
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 32
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
