// Command crm-receiver is a small CRM-style receiver of Parley's webhooks. It
// verifies each request (Standard Webhooks signature and timestamp), drops
// replays and duplicates, and keeps every call with its transcript, applying
// each call's events in sequence order even when they arrive out of order. It
// serves what it stored as JSON, and can keep it in a file across restarts.
//
// Run it with --help for the flags. docs/WEBHOOKS-RECEIVING.md explains the
// receiving side of Parley's webhooks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/receiver"
)

// secretEnv holds the signing secrets when no --secret flag is given.
const secretEnv = "PARLEY_WEBHOOK_SECRET"

const usageText = `crm-receiver: a CRM-style receiver of Parley's webhooks.

It verifies every request (Standard Webhooks signature and timestamp), refuses
replays, stores each call with its transcript, intents and outcome, and applies
each call's events in sequence order even when they arrive out of order
(out-of-order events wait, up to --gap-wait, for the missing ones).

Usage:
  crm-receiver [flags]

Point a Parley webhook endpoint at it, with the same secret:
  url: http://127.0.0.1:9090/webhooks/parley   (allow_insecure_loopback: true)
  secrets: [whsec_...]
  events: ["*"]

Endpoints:
  POST <path>        Parley's webhooks (default path /webhooks/parley)
  GET  /calls        every call, most recent first
  GET  /calls/{id}   one call with its transcript
  GET  /healthz      liveness

Secrets: --secret (repeatable, or comma-separated), else the ` + secretEnv + `
environment variable (comma-separated). Give two during a rotation.

Flags:
`

// config is what the flags and the environment set.
type config struct {
	addr      string
	path      string
	secrets   []string
	dataFile  string
	gapWait   time.Duration
	tolerance time.Duration
	debug     bool
}

// secretList collects --secret flags; each may hold several, comma-separated.
type secretList []string

func (s *secretList) String() string { return fmt.Sprintf("%d secret(s)", len(*s)) }

func (s *secretList) Set(v string) error {
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	var secrets secretList
	fs := flag.NewFlagSet("crm-receiver", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9090", "address to listen on")
	fs.StringVar(&c.path, "path", "/webhooks/parley", "URL path Parley posts webhooks to")
	fs.Var(&secrets, "secret", "whsec_… signing secret (repeatable or comma-separated; default $"+secretEnv+")")
	fs.StringVar(&c.dataFile, "data", "", "JSON file to keep calls in across restarts (default: memory only)")
	fs.DurationVar(&c.gapWait, "gap-wait", 30*time.Second, "how long a missing event holds back the call's later events")
	fs.DurationVar(&c.tolerance, "tolerance", receiver.DefaultTolerance, "accepted clock difference for webhook-timestamp")
	fs.BoolVar(&c.debug, "debug", false, "log every event")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	c.secrets = secrets
	if len(c.secrets) == 0 {
		_ = (&secrets).Set(getenv(secretEnv))
		c.secrets = secrets
	}
	switch {
	case len(c.secrets) == 0:
		return c, fmt.Errorf("no signing secret: pass --secret whsec_… or set %s (the secret of the Parley endpoint)", secretEnv)
	case !strings.HasPrefix(c.path, "/"):
		return c, fmt.Errorf("--path %q must start with /", c.path)
	case c.gapWait <= 0:
		return c, fmt.Errorf("--gap-wait must be positive, got %s", c.gapWait)
	case c.tolerance <= 0:
		return c, fmt.Errorf("--tolerance must be positive, got %s", c.tolerance)
	}
	return c, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "crm-receiver:", err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx ends. onListen, when set, learns the address listened on.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer, onListen func(addr string)) error {
	cfg, err := parseConfig(args, getenv, out)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if cfg.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))

	a, err := newApp(cfg, time.Now, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.addr, err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "webhook_path", cfg.path, "secrets", len(cfg.secrets),
		"data", cfg.dataFile, "gap_wait", cfg.gapWait)
	if onListen != nil {
		onListen(ln.Addr().String())
	}

	flushDone := make(chan struct{})
	flushCtx, stopFlush := context.WithCancel(ctx)
	go func() {
		defer close(flushDone)
		a.flushGapsEvery(flushCtx, min(cfg.gapWait/4, time.Second))
	}()
	defer func() {
		stopFlush()
		<-flushDone
	}()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	<-served
	return nil
}
