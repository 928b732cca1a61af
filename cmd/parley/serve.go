package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[flags] [CONFIG|DIR]...", `
Run agents as a server. Callers connect over the native WebSocket protocol at
/v1/ws (docs/PROTOCOL.md); /healthz, /readyz and /v1/agents report on the node.
With no CONFIG, the agents shipped in configs/ (embedded in the binary) are served.

--server-config names the server's own file: data directory, admin token, the
webhook queue and webhook endpoints (docs/WEBHOOKS.md). With endpoints, every
event is stored in NATS JetStream (embedded, under data_dir, unless queue.url
names a cluster) and delivered signed; the admin API is at /v1/admin/webhooks/
(see 'parley webhooks --help').

With an admin token (admin.token, --admin-token or PARLEY_ADMIN_TOKEN), a live
dashboard is at /dashboard/: live and recent calls, each call's transcript and
turn latencies, webhook endpoints and the dead-letter queue.

SIGINT or SIGTERM stops admitting calls, lets live calls finish for --grace, then
ends the rest with reason server_shutdown; webhook deliveries in flight then get
queue.shutdown_timeout to finish, and whatever is not delivered stays queued for
the next start.

SIGHUP (or --watch, or POST /v1/admin/agents/reload) reloads the agent configs:
new and changed agents are validated and provisioned before they take calls,
calls in progress finish on the version they started with, and a config with
errors is refused while the current version keeps serving. The agent admin API
at /v1/admin/agents also adds, changes and removes agents (admin token).`, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	maxCalls := fs.Int("max-calls", 1000, "refuse new calls beyond this many live ones")
	connRate := fs.Float64("conn-rate", 10, "new media connections allowed per second from one source address (429 beyond; loopback, e.g. a reverse proxy, is not limited; negative: no limit)")
	connBurst := fs.Int("conn-burst", 20, "new media connections one source may open at once")
	token := fs.String("auth-token", "", "require this bearer token on media endpoints (default $PARLEY_AUTH_TOKEN)")
	printEvents := fs.String("events", "", "print events as JSON lines to stdout; a comma-separated list of globs, e.g. 'call.*,speech.transcribed' or '*'")
	grace := fs.Duration("grace", 30*time.Second, "how long live calls may run on after a shutdown signal")
	watch := fs.Bool("watch", false, "reload agents when their config files change (SIGHUP always reloads; docs/OPERATIONS.md)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json (logs go to stderr)")
	serverConfig := fs.String("server-config", "", "server config file: data_dir, admin token, queue, webhook endpoints (default $PARLEY_SERVER_CONFIG)")
	dataDir := fs.String("data-dir", "", "directory for the embedded queue's files (overrides data_dir)")
	adminToken := fs.String("admin-token", "", "bearer token of the admin API (overrides admin.token; default $PARLEY_ADMIN_TOKEN)")
	twilioToken := fs.String("twilio-auth-token", "", "Twilio auth token: X-Twilio-Signature is required on /v1/twilio/* (default $TWILIO_AUTH_TOKEN; docs/TWILIO.md)")
	publicURL := fs.String("public-url", "", "base URL carriers reach this node at, e.g. https://parley.example.com (default: the request's Host)")
	twilioSID := fs.String("twilio-account-sid", "", "Twilio account SID, to place outbound calls (default $TWILIO_ACCOUNT_SID; needs --twilio-auth-token and --public-url)")
	twilioAPI := fs.String("twilio-api-url", "https://api.twilio.com", "Twilio REST API base URL")
	var iceServers, publicIPs stringList
	fs.Var(&iceServers, "ice-server", "WebRTC STUN/TURN URL, e.g. stun:stun.l.google.com:19302 (repeatable; none needed on a LAN)")
	fs.Var(&publicIPs, "public-ip", "WebRTC: the public IP to announce instead of the host's (1:1 NAT; repeatable)")
	udpPorts := fs.String("udp-ports", "", "WebRTC media port range MIN-MAX, e.g. 40000-40999 (default: any)")
	metricsAddr := fs.String("metrics-addr", "", "also serve /metrics here (host:port) without authentication, for an internal network; /metrics on --addr wants the admin token when one is set")
	otlpEndpoint := fs.String("otlp-endpoint", "", "send OpenTelemetry traces to this OTLP/HTTP collector, e.g. http://localhost:4318 (default $OTEL_EXPORTER_OTLP_ENDPOINT; unset: tracing off)")
	traceSample := fs.String("trace-sample", "", "share of calls traced, 0 to 1 (default $OTEL_TRACES_SAMPLER_ARG, else 1)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	log, redactor := redactingLogger(log)
	tracing, flushTraces, err := setupTracing(ctx, *otlpEndpoint, *traceSample, log)
	if err != nil {
		return err
	}
	defer flushTraces() // after the server drained and the webhook dispatcher closed
	if *token == "" {
		*token = os.Getenv("PARLEY_AUTH_TOKEN")
	}
	if *twilioToken == "" {
		*twilioToken = os.Getenv("TWILIO_AUTH_TOKEN")
	}
	if *twilioSID == "" {
		*twilioSID = os.Getenv("TWILIO_ACCOUNT_SID")
	}
	cfgs, err := loadAgents(fs.Args())
	if err != nil {
		return err
	}
	file, err := loadServerConfig(*serverConfig, *dataDir, *adminToken)
	if err != nil {
		return err
	}
	redactor.Add(serveSecrets(cfgs, file, *token, *twilioToken)...)
	wrtc, err := webrtcConfig(iceServers, publicIPs, *udpPorts)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Agents: cfgs, Logger: log, MaxCalls: *maxCalls, AuthToken: *token, WebRTC: wrtc,
		ConnRate: *connRate, ConnBurst: *connBurst,
		TwilioAuthToken: *twilioToken, PublicURL: *publicURL, CallOptions: callOptions(tracing),
		LoadAgents: agentLoader(fs.Args()), AdminToken: file.Admin.Token,
		OnAgentConfig: func(c *agents.Config) { redactor.Add(c.Secrets()...) }})
	if err != nil {
		return err
	}
	mountOutbound(srv, file.Admin.Token, *twilioSID, *twilioToken, *twilioAPI, *publicURL, log)
	observer, watchWebhooks, stopMetrics, err := setupMetrics(srv, *metricsAddr, file.Admin.Token, *maxCalls, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	closeWebhooks, err := startWebhooks(ctx, srv, file, cfgs, log, observer, watchWebhooks, tracing.Tracer())
	if err != nil {
		return err
	}
	defer closeWebhooks()
	srv.MountDashboard(file.Admin.Token) // after the webhook admin API, which it links to
	if *printEvents != "" {
		stop := server.PrintEvents(srv.Bus(), stdout, strings.Split(*printEvents, ",")...)
		defer stop()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	ids := make([]string, 0, len(cfgs))
	for _, c := range cfgs {
		ids = append(ids, c.ID)
	}
	log.Info("parley serving", "addr", ln.Addr().String(), "agents", strings.Join(ids, ","), "ws", "ws://"+ln.Addr().String()+"/v1/ws")
	if file.Admin.Token != "" {
		log.Info("dashboard", "url", "http://"+ln.Addr().String()+"/dashboard/")
	} else {
		log.Info("dashboard off: set an admin token (admin.token, --admin-token or PARLEY_ADMIN_TOKEN) to use it", "url", "http://"+ln.Addr().String()+"/dashboard/")
	}
	stopReloads, err := startReloads(ctx, srv, fs.Args(), *watch, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopReloads()
	return srv.Serve(ctx, ln, *grace)
}

// loadServerConfig reads the server config file (if any) and applies the
// flags and environment over it.
func loadServerConfig(path, dataDir, adminToken string) (*server.File, error) {
	if path == "" {
		path = os.Getenv("PARLEY_SERVER_CONFIG")
	}
	var file *server.File
	var err error
	if path != "" {
		file, err = server.LoadFile(path)
	} else {
		file, err = server.ParseFile("(none)", nil, nil)
	}
	if err != nil {
		return nil, err
	}
	if dataDir != "" {
		file.DataDir = dataDir
	}
	if adminToken == "" {
		adminToken = os.Getenv("PARLEY_ADMIN_TOKEN")
	}
	if adminToken != "" {
		file.Admin.Token = adminToken
	}
	return file, nil
}

// startWebhooks opens the webhook dispatcher when endpoints are configured,
// feeds it every event, and mounts the admin API. The returned func closes it
// after the server has drained, within queue.shutdown_timeout.
// observer and watch hook the dispatcher up to the node's metrics.
func startWebhooks(ctx context.Context, srv *server.Server, file *server.File, agentCfgs []*agents.Config, log *slog.Logger,
	observer dispatch.AttemptObserver, watch func(*dispatch.Dispatcher), tracer trace.Tracer) (func(), error) {
	cfg := file.Dispatch()
	own, err := agentEndpoints(agentCfgs)
	if err != nil {
		return nil, err
	}
	cfg.Endpoints = append(cfg.Endpoints, own...)
	if len(cfg.Endpoints) == 0 {
		log.Info("no webhook endpoints configured; events are not delivered anywhere (see --server-config)")
		return func() {}, nil
	}
	cfg.Logger = log
	cfg.Observer = observer
	cfg.Tracer = tracer // nil when tracing is off
	bus := srv.Bus()
	cfg.OnPayloadRejected = func(ev *events.Event, pe *webhooks.PayloadTooLargeError) {
		now := time.Now()
		bus.Publish(&events.Event{
			Type: events.WebhookPayloadRejected, ID: events.NewEventID(now), APIVersion: events.APIVersion,
			CallID: ev.CallID, AgentID: ev.AgentID, Timestamp: now,
			Payload: map[string]any{"endpoint_id": pe.EndpointID, "rejected_event_id": pe.EventID,
				"rejected_event_type": pe.EventType, "bytes": pe.Size, "limit": pe.Limit},
		})
	}
	d, err := dispatch.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	bus.AddSink(d)
	watch(d)
	srv.Mount("/v1/admin/webhooks/", dispatch.NewAdminHandler(d, file.Admin.Token, log))
	srv.AddReadyCheck("webhook_queue", d.Ready)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), file.ShutdownTimeout())
		defer cancel()
		if err := d.Close(ctx); err != nil {
			log.Error("webhook dispatcher shutdown", "err", err)
		}
	}, nil
}

// agentEndpoints collects the agents' own webhook endpoints (`webhooks:` in
// an agent config), each limited to its agent's events.
func agentEndpoints(cfgs []*agents.Config) ([]webhooks.Endpoint, error) {
	var out []webhooks.Endpoint
	var errs []error
	for _, c := range cfgs {
		eps, err := webhooks.AgentEndpoints(c.ID, c.Webhooks)
		if err != nil {
			errs = append(errs, err)
		}
		out = append(out, eps...)
	}
	return out, errors.Join(errs...)
}

// webrtcConfig reads the WebRTC flags.
func webrtcConfig(ice, publicIPs []string, ports string) (server.WebRTCConfig, error) {
	c := server.WebRTCConfig{ICEServers: ice, PublicIPs: publicIPs}
	for _, ip := range publicIPs {
		if net.ParseIP(ip) == nil {
			return c, fmt.Errorf("--public-ip %q is not an IP address", ip)
		}
	}
	if ports != "" {
		lo, hi, ok := strings.Cut(ports, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
			return c, fmt.Errorf("--udp-ports %q: want MIN-MAX, e.g. 40000-40999", ports)
		}
		c.UDPPortMin, c.UDPPortMax = uint16(a), uint16(b)
	}
	return c, nil
}
