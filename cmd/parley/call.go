package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/parley-voice/parley/pipeline/espeak"
	"github.com/parley-voice/parley/pipeline/sphinx"
	"github.com/parley-voice/parley/runtime/caller"
	"github.com/parley-voice/parley/runtime/server"
)

func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("call", "[flags] [LINE]...", `
Call an agent on a running 'parley serve' as a simulated caller. Each LINE (or each
line of --script) is spoken with espeak-ng over the native WebSocket protocol after
the agent finishes its previous reply; what the agent says is printed, with its
audio transcribed by PocketSphinx (constrained to --config's phrases when given).

With --outbound the server places a real phone call instead: it asks its carrier
(Twilio) to dial --to and connect the answered call to --agent; --campaign FILE
calls every number in FILE (one per line) with --concurrency and --rate, printing
progress. Both need the server's admin token.`, stderr)
	url := fs.String("url", "ws://127.0.0.1:8080/v1/ws", "the server's WebSocket endpoint")
	agent := fs.String("agent", "demo", "agent id to call")
	script := fs.String("script", "", "file with one caller line per line")
	token := fs.String("token", os.Getenv("PARLEY_AUTH_TOKEN"), "bearer token for the media endpoint")
	from := fs.String("from", "+15550100", "caller number reported in call.started")
	voice := fs.String("voice", "en-us+m3", "espeak-ng voice of the caller")
	isOutbound := fs.Bool("outbound", false, "have the server place a phone call through its carrier to --to")
	var to stringList
	fs.Var(&to, "to", "with --outbound: the E.164 number to call")
	campaign := fs.String("campaign", "", "with --outbound: a file of E.164 numbers, one per line, to call as a campaign")
	concurrency := fs.Int("concurrency", 5, "with --campaign: calls in progress at once")
	rate := fs.Float64("rate", 1, "with --campaign: new calls per second")
	serverURL := fs.String("server", envOr("PARLEY_SERVER", "http://127.0.0.1:8080"), "with --outbound: the server's HTTP address")
	adminToken := fs.String("admin-token", "", "with --outbound: the server's admin token (default $PARLEY_ADMIN_TOKEN)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *isOutbound {
		if *from == "+15550100" {
			return errors.New("parley call --outbound: give --from, a number of your carrier account (E.164)")
		}
		return runOutbound(ctx, outboundFlags{server: *serverURL, token: cmp.Or(*adminToken, os.Getenv("PARLEY_ADMIN_TOKEN")),
			agent: *agent, from: *from, to: to, campaign: *campaign, concurrency: *concurrency, rate: *rate}, stdout)
	}
	lines := fs.Args()
	if *script != "" {
		l, err := readScript(*script)
		if err != nil {
			return err
		}
		lines = append(lines, l...)
	}
	if len(lines) == 0 {
		fmt.Fprintln(stderr, "parley call: give lines to say, or --script")
		fs.Usage()
		return errUsage
	}
	tts, err := espeak.New(espeak.Config{})
	if err != nil {
		return err
	}
	cfgs, _ := embeddedAgents()
	var phrases []string
	for _, c := range cfgs {
		if c.ID == *agent {
			phrases = replyPhrases(c)
		}
	}
	var say []caller.Line
	for _, l := range lines {
		say = append(say, caller.Line{Text: l})
	}
	cc := caller.Config{URL: *url, Agent: *agent, Token: *token, From: *from, Lines: say, TTS: tts, Voice: *voice, Out: stdout, Phrases: phrases}
	if len(phrases) > 0 {
		if stt, err := sphinx.New(sphinx.Config{Logger: slog.New(slog.DiscardHandler), Sequences: true, Prime: server.PrimeAudio()}); err == nil {
			cc.Transcriber = stt
		}
	}
	res, err := caller.Run(ctx, cc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "call %s ended: %s\n", res.CallID, res.EndReason)
	return nil
}
