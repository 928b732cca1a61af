package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/parley-voice/parley/runtime/server"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[flags] [CONFIG|DIR]...", `
Run agents as a server. Callers connect over the native WebSocket protocol at
/v1/ws (docs/PROTOCOL.md); /healthz, /readyz and /v1/agents report on the node.
With no CONFIG, the agents shipped in configs/ (embedded in the binary) are served.
SIGINT or SIGTERM stops admitting calls, lets live calls finish for --grace, then
ends the rest with reason server_shutdown.`, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	maxCalls := fs.Int("max-calls", 1000, "refuse new calls beyond this many live ones")
	token := fs.String("auth-token", "", "require this bearer token on media endpoints (default $PARLEY_AUTH_TOKEN)")
	printEvents := fs.String("events", "", "print events as JSON lines to stdout; a comma-separated list of globs, e.g. 'call.*,speech.transcribed' or '*'")
	grace := fs.Duration("grace", 30*time.Second, "how long live calls may run on after a shutdown signal")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json (logs go to stderr)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("PARLEY_AUTH_TOKEN")
	}
	cfgs, err := loadAgents(fs.Args())
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Agents: cfgs, Logger: log, MaxCalls: *maxCalls, AuthToken: *token})
	if err != nil {
		return err
	}
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
	return srv.Serve(ctx, ln, *grace)
}
