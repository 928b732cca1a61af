package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/parley-voice/parley/runtime/metrics"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

// setupMetrics derives the node's metrics from its event bus and serves them
// at /metrics on the main listener, behind the admin token when one is set;
// with addr, also on a listener of their own without authentication, meant
// for an internal network (docs/OPERATIONS.md, "Metrics"). It returns the
// webhook dispatcher's attempt observer, a func that starts watching the
// dispatcher once open, and a func that closes the extra listener.
func setupMetrics(srv *server.Server, addr, adminToken string, maxCalls int, log *slog.Logger) (dispatch.AttemptObserver, func(*dispatch.Dispatcher), func(), error) {
	m := metrics.New(metrics.Options{MaxCalls: maxCalls, Logger: log})
	srv.Bus().AddSink(m)
	srv.MountMetrics(m.Handler(), adminToken)
	watch := func(d *dispatch.Dispatcher) { m.WatchWebhooks(d) }
	if addr == "" {
		return m, watch, func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--metrics-addr: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("metrics served without authentication", "addr", ln.Addr().String(), "path", "/metrics")
	return m, watch, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	}, nil
}
