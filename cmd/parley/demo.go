package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/parley-voice/parley/pipeline/espeak"
	"github.com/parley-voice/parley/pipeline/sphinx"
	"github.com/parley-voice/parley/runtime/caller"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// demoScript is what the simulated caller says to the shipped demo agent.
var demoScript = []string{
	"i would like to book an appointment",
	"tuesday",
	"ten a m",
	"yes please",
	"no thank you goodbye",
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "[flags]", `
Run a whole spoken conversation offline, in one process: a Parley server with the
shipped demo agent, and a simulated caller that speaks a script with espeak-ng over
the native WebSocket protocol. The agent recognises the caller with PocketSphinx,
decides with its flow, and answers with espeak-ng; the caller transcribes what it
hears back. Every event is printed. Exits 0 when the scripted conversation completes.`, stderr)
	agent := fs.String("agent", "demo", "agent id to call")
	scriptFile := fs.String("script", "", "file with one caller line per line (default: the demo agent's script)")
	showEvents := fs.Bool("events", true, "print the event stream")
	verbose := fs.Bool("v", false, "print every event with its payload as it arrives")
	logLevel := fs.String("log-level", "warn", "server log level")
	withWebhooks := fs.Bool("webhooks", true, "deliver every event through the durable webhook queue (embedded NATS JetStream) to a signature-verifying CRM receiver")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	lines := demoScript
	if *scriptFile != "" {
		var err error
		if lines, err = readScript(*scriptFile); err != nil {
			return err
		}
	}
	log, err := newLogger(stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	cfgs, err := embeddedAgents()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "» starting a Parley server with the embedded agents (PocketSphinx + flow + espeak-ng)…")
	srv, err := server.New(server.Config{Agents: cfgs, Logger: log})
	if err != nil {
		return err
	}
	var hooks *demoWebhooks
	if *withWebhooks {
		if hooks, err = startDemoWebhooks(ctx, log); err != nil {
			return fmt.Errorf("starting the webhook queue: %w", err)
		}
		defer hooks.close()
		srv.Bus().AddSink(hooks.d)
		fmt.Fprintf(stdout, "» webhooks: events go to a CRM receiver at %s through an embedded NATS JetStream queue\n", hooks.url)
	}
	a, ok := srv.Agent(*agent)
	if !ok {
		return fmt.Errorf("no agent %q among the embedded configs", *agent)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln, 5*time.Second) }()

	sub := srv.Bus().Subscribe(8192, "")
	tts, err := espeak.New(espeak.Config{})
	if err != nil {
		stopServer()
		return err
	}
	stt, err := sphinx.New(sphinx.Config{Logger: slog.New(slog.DiscardHandler), Sequences: true, Prime: server.PrimeAudio()})
	if err != nil {
		stopServer()
		return err
	}
	var script []caller.Line
	for _, l := range lines {
		script = append(script, caller.Line{Text: l})
	}
	fmt.Fprintf(stdout, "» calling agent %q at ws://%s/v1/ws\n", *agent, ln.Addr())
	res, callErr := caller.Run(ctx, caller.Config{
		URL: "ws://" + ln.Addr().String() + "/v1/ws", Agent: *agent, From: "+15550100",
		Lines: script, TTS: tts, Voice: "en-us+m3", Transcriber: stt, Phrases: replyPhrases(a.Config),
		Out: stdout, Verbose: *verbose,
	})
	stopServer()
	<-served
	var seq []string
	for e := range sub.C() {
		seq = append(seq, e.Type)
	}
	if *showEvents {
		fmt.Fprintf(stdout, "\n» events (%d): %s\n", len(seq), summarize(seq))
	}
	if callErr != nil {
		return callErr
	}
	if res.EndReason != "agent_hangup" {
		return fmt.Errorf("the conversation did not complete: the call ended with %q", res.EndReason)
	}
	if hooks != nil {
		if err := hooks.finish(ctx, stdout); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "» demo complete")
	return nil
}

func summarize(seq []string) string {
	var out []string
	for i, t := range seq {
		if t == events.CallStateChanged || t == events.SpeechPartial {
			continue
		}
		if i > 0 && seq[i-1] == t {
			continue
		}
		out = append(out, t)
	}
	return strings.Join(out, " → ")
}

func readScript(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil, errors.New("script has no lines")
	}
	return lines, sc.Err()
}
