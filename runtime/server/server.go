// Package server wires Parley together: it provisions agents, accepts calls on
// the transports, supervises live calls (admission control, shutdown), and
// serves health, readiness and the agent list over HTTP.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/media/webrtc"
	"github.com/parley-voice/parley/plugins"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

// Config configures a Server.
type Config struct {
	Agents []*agents.Config
	// LoadAgents reads the agents again from where Agents came from, for
	// Reload (SIGHUP, the config watch, POST /v1/admin/agents/reload); nil:
	// reloading is not available.
	LoadAgents func() ([]*agents.Config, error)
	// AdminToken protects the agent admin API (/v1/admin/agents); empty: that
	// API refuses every request.
	AdminToken string
	// OnAgentConfig, when set, sees every agent config before it is
	// provisioned, at start, on reload and through the admin API (serve
	// registers the config's secrets with its log redactor there).
	OnAgentConfig func(*agents.Config)
	// Tools is the tool environment agents draw from (default plugins.Default()).
	Tools  *plugins.Environment
	Logger *slog.Logger
	// MaxCalls refuses new calls beyond this many live ones (default 1000).
	MaxCalls int
	// AuthToken, when set, is required as "Authorization: Bearer <token>" (or the
	// "token" query parameter, for browsers) on media endpoints.
	AuthToken string
	// Providers shares provider instances; nil creates a fresh set.
	Providers *Providers
	// CallOptions are passed to every call.
	CallOptions call.Options
	// WebRTC configures browser calls and the page at / (runtime/server/webrtc.go).
	WebRTC WebRTCConfig
	// TwilioAuthToken, when set, is required as X-Twilio-Signature on the Twilio
	// voice webhook and media stream (runtime/server/twilio.go).
	TwilioAuthToken string
	// ConnRate and ConnBurst limit new media connections (and WebRTC offers)
	// per source address: ConnRate a second on average, ConnBurst at once
	// (defaults 10 and 20; a negative ConnRate turns the limit off).
	ConnRate  float64
	ConnBurst int
	// PublicURL is the base URL callers' carriers reach this node at, e.g.
	// "https://parley.example.com"; empty: the request's Host.
	PublicURL string
}

// Server runs agents and their calls.
type Server struct {
	cfg    Config
	log    *slog.Logger
	bus    *events.Bus
	agents agentTable
	ws     *native.Handler

	ctx    context.Context
	cancel context.CancelFunc

	routes map[string]http.Handler
	checks map[string]func() error

	mu       sync.Mutex
	calls    map[string]*call.Call
	draining bool
	wg       sync.WaitGroup
}

// New provisions every agent; any failure is returned with the agent named.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Tools == nil {
		cfg.Tools = plugins.Default()
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = 1000
	}
	if cfg.ConnRate == 0 {
		cfg.ConnRate = 10
	}
	if cfg.ConnBurst <= 0 {
		cfg.ConnBurst = 20
	}
	if cfg.Providers == nil {
		cfg.Providers = &Providers{}
	}
	if len(cfg.Agents) == 0 {
		return nil, errors.New("no agents configured")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, bus: events.NewBus(), calls: map[string]*call.Call{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.loadInitialAgents(cfg.Agents); err != nil {
		return nil, err
	}
	s.ws = &native.Handler{Start: s.startNative, Logger: cfg.Logger, Authenticate: s.authenticate}
	return s, nil
}

// Mount adds an HTTP route (a ServeMux pattern) to Handler, e.g. the admin
// API. Call it before Handler or Serve.
func (s *Server) Mount(pattern string, h http.Handler) {
	if s.routes == nil {
		s.routes = map[string]http.Handler{}
	}
	s.routes[pattern] = h
}

// AddReadyCheck adds a check to /readyz: while it returns an error the node
// reports not ready, with the error under name. Call it before Serve.
func (s *Server) AddReadyCheck(name string, check func() error) {
	if s.checks == nil {
		s.checks = map[string]func() error{}
	}
	s.checks[name] = check
}

// Bus returns the server's event bus.
func (s *Server) Bus() *events.Bus { return s.bus }

// Agent returns the version of an agent that takes new calls.
func (s *Server) Agent(id string) (*call.Agent, bool) {
	v, ok := s.agents.lookup(id)
	if !ok {
		return nil, false
	}
	return v.agent, true
}

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// New media connections are limited per source, so that a flood from one
	// host is refused (429) while other callers go on.
	limit := func(h http.Handler) http.Handler { return h }
	if s.cfg.ConnRate > 0 {
		limit = NewSourceLimiter(s.cfg.ConnRate, s.cfg.ConnBurst).Middleware
	}
	mux.Handle("GET /v1/ws", limit(s.ws))
	mux.Handle("POST /v1/twilio/voice/{agent}", limit(s.twilioVoice()))
	mux.Handle("GET /v1/twilio/media", limit(s.twilioMedia()))
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"telnyx", s.telnyxMedia()}, {"vonage", s.vonageMedia()}, {"plivo", s.plivoMedia()}} {
		mux.Handle("GET /v1/"+c.name+"/media/{agent}", limit(c.h))
		mux.Handle("GET /v1/"+c.name+"/media", limit(c.h))
	}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /v1/agents", s.listAgents)
	s.mountAgentAdmin(mux)
	mux.Handle("POST /v1/webrtc/{agent}", limit(s.webrtcHandler()))
	mux.HandleFunc("GET /v1/webrtc/token", s.mintWebRTCToken)
	mux.HandleFunc("GET /{$}", webrtc.Page)
	for pattern, h := range s.routes {
		mux.Handle(pattern, h)
	}
	return mux
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	out := make([]map[string]any, 0, s.agents.len())
	for _, a := range s.Agents() {
		out = append(out, map[string]any{"id": a.ID, "name": a.Name, "description": a.Description,
			"stt": a.STT, "tts": a.TTS, "llm": a.LLM, "version": a.Version})
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) authenticate(r *http.Request) error {
	if s.cfg.AuthToken == "" {
		return nil
	}
	var tok string
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		tok = strings.TrimSpace(h[7:])
	}
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	if !constantTimeEqual(tok, s.cfg.AuthToken) {
		return errors.New("missing or invalid token")
	}
	return nil
}

// StartCall admits and starts a call on any transport.
func (s *Server) StartCall(agentID string, p call.Params, conn call.Conn) (*call.Call, error) {
	// The call holds on to this version of the agent until it ends, whatever
	// changes meanwhile.
	v, ok := s.agents.acquire(agentID)
	if !ok {
		return nil, &native.RefusalError{Code: "unknown_agent", CloseCode: websocket.ClosePolicyViolation,
			Err: fmt.Errorf("no agent %q on this server (have: %s)", agentID, strings.Join(s.agentIDs(), ", "))}
	}
	a := v.agent
	p = s.withCallStartVars(a, p) // an HTTP request: never under s.mu
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		v.release()
		return nil, &native.RefusalError{Code: "draining", CloseCode: websocket.CloseTryAgainLater, Err: errors.New("server is shutting down; try another node")}
	}
	if len(s.calls) >= s.cfg.MaxCalls {
		s.mu.Unlock()
		v.release()
		return nil, &native.RefusalError{Code: "capacity", CloseCode: websocket.CloseTryAgainLater,
			Err: fmt.Errorf("server is at its limit of %d concurrent calls", s.cfg.MaxCalls)}
	}
	opts := s.cfg.CallOptions
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	userOnEnd := opts.OnEnd
	opts.OnEnd = func(c *call.Call) {
		s.mu.Lock()
		delete(s.calls, c.ID())
		s.mu.Unlock()
		v.release()
		if userOnEnd != nil {
			userOnEnd(c)
		}
		s.wg.Done()
	}
	s.wg.Add(1)
	c, err := call.Start(s.ctx, a, p, conn, s.bus, opts)
	if err != nil {
		s.wg.Done()
		s.mu.Unlock()
		v.release()
		return nil, err
	}
	s.calls[c.ID()] = c
	s.mu.Unlock()
	return c, nil
}

func (s *Server) startNative(ctx context.Context, req native.StartRequest, conn *native.Conn) (native.CallHandle, error) {
	meta := req.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	c, err := s.StartCall(req.Agent, call.Params{
		Transport: "websocket", From: req.From, To: req.To, SampleRate: native.SampleRate,
		Metadata: meta, Vars: map[string]string{"from": req.From, "to": req.To},
	}, conn)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// LiveCalls returns the number of live calls.
func (s *Server) LiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	s.Shutdown(sctx)
	_ = hs.Shutdown(sctx)
	return nil
}

// Shutdown stops admitting calls, lets live calls finish until ctx is done, then
// ends the rest with reason server_shutdown and waits for them.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	already := s.draining
	s.draining = true
	live := len(s.calls)
	s.mu.Unlock()
	if !already {
		deadline, _ := ctx.Deadline()
		s.log.Info("draining: not admitting calls, /readyz reports 503; live calls may finish", "live_calls", live, "deadline", deadline)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("drain deadline passed: ending the remaining calls with reason server_shutdown", "live_calls", s.LiveCalls())
		s.cancel()
		<-done
	}
	s.cancel()
	s.bus.Close()
	s.agents.closeAll()
	if !already {
		s.log.Info("drained: every call has ended and its events are published")
	}
}

// PrintEvents writes every event as a JSON line to w until the bus closes.
func PrintEvents(b *events.Bus, w io.Writer, patterns ...string) (stop func()) {
	sub := b.Subscribe(4096, "", patterns...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		enc := json.NewEncoder(w)
		for e := range sub.C() {
			_ = enc.Encode(e)
		}
	}()
	return func() { sub.Close(); <-done }
}
