// Command custom-tool shows how a program embeds Parley with its own Go tools: it
// registers check_stock and hold_item (typed Go functions whose argument struct
// is the tools' JSON Schema) and serves a flow agent whose "check" and "hold"
// nodes call them. check_stock reports progress when the stock system is slow
// (--latency), which the agent speaks while it waits; hold_item deduplicates
// its writes by the tool call's idempotency key. Everything runs offline:
// PocketSphinx listens, espeak-ng speaks.
//
//	go run ./examples/custom-tool --latency 2500ms
//	bin/parley call --url ws://127.0.0.1:8081/v1/ws --agent stock-check "do you have kettles" "please put kettles aside"
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/parley-voice/parley/agents"
	_ "github.com/parley-voice/parley/plugins/all" // end_call and the other built-ins
	"github.com/parley-voice/parley/runtime/server"
)

// agentYAML is the agent served when --config is not given.
//
//go:embed agent.yaml
var agentYAML []byte

// options are what the flags set.
type options struct {
	addr    string
	config  string
	grace   time.Duration
	latency time.Duration
}

func parseOptions(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("custom-tool", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintln(out, "custom-tool: serves a Parley agent that calls Go tools (check_stock, hold_item).\n\nUsage:\n  custom-tool [flags]\n\nFlags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8081", "listen address (host:port)")
	fs.StringVar(&o.config, "config", "", "agent config file to serve instead of the embedded agent.yaml")
	fs.DurationVar(&o.grace, "grace", 10*time.Second, "how long live calls may run on after a shutdown signal")
	fs.DurationVar(&o.latency, "latency", 0, "how long the simulated stock system takes to answer; over 1s, check_stock reports progress")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	if o.latency < 0 {
		return o, fmt.Errorf("--latency %s: must not be negative", o.latency)
	}
	return o, nil
}

// loadAgent reads the agent config: the embedded one, or path.
func loadAgent(path string) (*agents.Config, error) {
	if path != "" {
		return agents.Load(path)
	}
	return agents.Parse("agent.yaml", agentYAML, os.LookupEnv)
}

// newServer provisions the agent with the tool environment that holds
// check_stock and hold_item. Provisioning fails, naming the tool, if the agent refers to a
// tool the environment lacks.
func newServer(cfg *agents.Config, inv *Inventory, log *slog.Logger) (*server.Server, error) {
	tools, err := newTools(inv)
	if err != nil {
		return nil, fmt.Errorf("registering tools: %w", err)
	}
	return server.New(server.Config{Agents: []*agents.Config{cfg}, Tools: tools, Logger: log})
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "custom-tool:", err)
		stop()
		os.Exit(1)
	}
}

// run serves until ctx ends. onListen, when set, learns the address listened on.
func run(ctx context.Context, args []string, out io.Writer, onListen func(addr string)) error {
	o, err := parseOptions(args, out)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	cfg, err := loadAgent(o.config)
	if err != nil {
		return err
	}
	inv := NewInventory()
	inv.Latency = o.latency
	srv, err := newServer(cfg, inv, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.addr, err)
	}
	addr := ln.Addr().String()
	log.Info("serving", "agent", cfg.ID, "ws", "ws://"+addr+"/v1/ws")
	fmt.Fprintf(out, "\nCall the agent (in another terminal, after make build):\n  bin/parley call --url ws://%s/v1/ws --agent %s \"do you have kettles\" \"please put kettles aside\" \"goodbye\"\n\n", addr, cfg.ID)
	if onListen != nil {
		onListen(addr)
	}
	return srv.Serve(ctx, ln, o.grace)
}
