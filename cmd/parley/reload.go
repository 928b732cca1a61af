package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/server"
)

// agentLoader reads the agents again from the same paths (the embedded
// configs when there are none), for server.Config.LoadAgents.
func agentLoader(paths []string) func() ([]*agents.Config, error) {
	paths = append([]string(nil), paths...)
	return func() ([]*agents.Config, error) { return loadAgents(paths) }
}

// startReloads reloads the agents on SIGHUP and, with watch, whenever their
// config files change. stop ends both and waits for them.
func startReloads(ctx context.Context, srv *server.Server, paths []string, watch bool, log *slog.Logger) (stop func(), err error) {
	if watch && len(paths) == 0 {
		return nil, errors.New("--watch needs agent config files or directories on the command line (the embedded configs never change)")
	}
	ctx, cancel := context.WithCancel(ctx)
	stopWatch := func() {}
	if watch {
		if stopWatch, err = srv.WatchAgents(ctx, paths, 0, nil); err != nil {
			cancel()
			return nil, err
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading agents")
				_, _ = srv.Reload() // logs its outcome
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
		stopWatch()
	}, nil
}
