// Command parley runs voice agents described by YAML configs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "github.com/parley-voice/parley/plugins/all"
	_ "github.com/parley-voice/parley/plugins/demo"
)

const usage = `parley: a voice agent runtime.

Usage:
  parley <command> [flags] [args]

Commands:
  serve     run agents as a server (WebSocket media endpoint, health, events)
  demo      run a scripted spoken conversation end to end, offline, and exit
  call      call an agent as a simulated caller speaking a script
  validate  check agent config files and report every problem
  schema    print the JSON Schema of agent configs
  bench     measure the runtime (bench turns: its own share of a turn under load)
  webhooks  inspect webhook endpoints, events, attempts and the DLQ; replay, enable, disable

Run 'parley <command> --help' for the flags of a command.
`

type command struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", runServe},
	{"demo", runDemo},
	{"call", runCall},
	{"validate", runValidate},
	{"schema", runSchema},
	{"bench", runBench},
	{"webhooks", runWebhooks},
}

// errUsage reports a command-line mistake; the command already printed why.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintf(stderr, "parley %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// newFlags returns a flag set whose --help prints a description and the flags.
func newFlags(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: parley %s %s\n\n%s\n\nFlags:\n", name, synopsis, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}
