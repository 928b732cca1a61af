package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

const webhooksDescription = `
Inspect and operate the webhook dispatcher of a running 'parley serve' through
its admin API (/v1/admin/webhooks/, docs/WEBHOOKS-ADMIN.md).

Commands:
  endpoints                       every endpoint: health, queue depths, last result
  endpoint ID                     one endpoint in detail
  events [--call ID] [--type GLOB] [--limit N]
                                  stored events, newest first
  attempts EVENT_ID [--endpoint ID]
                                  the delivery attempts of one event
  dlq [--endpoint ID] [--since T] [--until T] [--limit N]
                                  the dead-letter queue, oldest first
  replay --endpoint ID (--event ID | --since T [--until T] | --all)
                                  deliver dead letters again, with the same event_id
  enable ID                       resume deliveries (after a 410 Gone or a disable)
  disable ID [--reason TEXT]      stop deliveries; events wait in the queue

The flags below go before or after the command. The server must have an admin
token (admin.token in its config, or PARLEY_ADMIN_TOKEN); pass the same one with
--token or PARLEY_ADMIN_TOKEN. Run 'parley webhooks COMMAND --help' for more.`

// commonHelp ends every subcommand's description.
const commonHelp = `

--server (default $PARLEY_SERVER, else http://127.0.0.1:8080), --token (default
$PARLEY_ADMIN_TOKEN) and --json (print the server's JSON answer) work with every
command.`

const defaultServer = "http://127.0.0.1:8080"

// whCommand is one 'parley webhooks' subcommand: setup defines its flags and
// returns what runs once they are parsed.
type whCommand struct {
	name, synopsis, description string
	setup                       func(fs *flag.FlagSet) func(ctx context.Context, w *whRun) error
}

// whRun is what a subcommand runs with.
type whRun struct {
	c      *adminClient
	args   []string // positional arguments
	out    io.Writer
	stderr io.Writer
	fs     *flag.FlagSet
}

// usage reports a command-line mistake with the subcommand's help.
func (w *whRun) usage(format string, args ...any) error {
	fmt.Fprintf(w.stderr, "parley %s: %s\n", w.fs.Name(), fmt.Sprintf(format, args...))
	w.fs.Usage()
	return errUsage
}

// nargs checks the number of positional arguments.
func (w *whRun) nargs(n int, what string) error {
	switch {
	case len(w.args) < n:
		return w.usage("give %s", what)
	case len(w.args) > n:
		return w.usage("unexpected argument %q", w.args[n])
	}
	return nil
}

var whCommands = []whCommand{
	{"endpoints", "[flags]", `
List every webhook endpoint: whether it is enabled, its circuit breaker's state,
requests in flight, events pending (not yet attempted), waiting for a retry and
in the dead-letter queue, and its last result; then the producer's counters
(events accepted from calls, stored in the queue, dropped).`, setupEndpoints},
	{"endpoint", "[flags] ID", `
Show one endpoint: its config (without secrets or header values), health,
last error and success, queue depths and this node's counters.`, setupEndpoint},
	{"events", "[flags]", `
List stored events, newest first: queue position, time stored, event id, type,
call and sequence. Filter by call id and by event type glob ("call.*"); page
back with --before, using the position the previous page printed.`, setupEvents},
	{"attempts", "[flags] EVENT_ID", `
List the delivery attempts of one event, oldest first, at every endpoint or at
one: time, HTTP status, latency, outcome, the next attempt's time or whether it
was dead-lettered, and the error.`, setupAttempts},
	{"dlq", "[flags]", `
List the dead-letter queue, oldest first: events whose last attempt failed (or
that got a 410 Gone or were rejected), with their endpoint, attempts, time and
reason. --since and --until take an RFC 3339 time (2026-11-01T10:00:00Z) or a
duration back from now (90m, 24h).`, setupDLQ},
	{"replay", "--endpoint ID (--event ID | --since T [--until T] | --all)", `
Deliver dead letters of one endpoint again: one event (--event), those
dead-lettered in a time range (--since and/or --until: RFC 3339 or a duration
back from now, such as 2h), or the endpoint's whole DLQ (--all). Each is queued
as a first attempt, due now, with the same event_id and body, so receivers
deduplicate, and leaves the DLQ. A disabled endpoint gets them once enabled.`, setupReplay},
	{"enable", "[flags] ID", `
Let deliveries to an endpoint resume on every node, with a closed circuit: after
it answered 410 Gone or was disabled. An endpoint disabled in the config
(enabled: false) stays disabled: change the config.`, setupEnable},
	{"disable", "[flags] ID", `
Stop deliveries to an endpoint on every node until 'parley webhooks enable ID'.
Its events wait in the queue (for up to the event retention, 72h by default).`, setupDisable},
}

func runWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &adminClient{}
	fs := newFlags("webhooks", "[flags] COMMAND [flags] [args]", webhooksDescription, stderr)
	c.addFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "parley webhooks: name a command")
		fs.Usage()
		return errUsage
	}
	var cmd *whCommand
	for i := range whCommands {
		if whCommands[i].name == fs.Arg(0) {
			cmd = &whCommands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "parley webhooks: unknown command %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	sfs := newFlags("webhooks "+cmd.name, cmd.synopsis, cmd.description+commonHelp, stderr)
	c.addFlags(sfs)
	run := cmd.setup(sfs)
	pos, err := parseInterleaved(sfs, fs.Args()[1:])
	if err != nil {
		return err
	}
	w := &whRun{c: c, args: pos, out: stdout, stderr: stderr, fs: sfs}
	if err := c.resolve(); err != nil {
		return w.usage("%v", err)
	}
	return run(ctx, w)
}

// parseInterleaved parses flags that come before, between or after the
// positional arguments ("endpoint crm --json") and returns the latter.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// adminClient calls the admin API.
type adminClient struct {
	server, token string
	json          bool
	hc            *http.Client
}

// textFlag and boolFlag bind the common flags of both flag sets to one
// client. textFlag never prints its value, so --help cannot show a token taken
// from the environment.
type textFlag struct{ p *string }

func (f textFlag) String() string     { return "" }
func (f textFlag) Set(s string) error { *f.p = s; return nil }

type boolFlag struct{ p *bool }

func (f boolFlag) String() string   { return "" }
func (f boolFlag) IsBoolFlag() bool { return true }
func (f boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*f.p = v
	return nil
}

func (c *adminClient) addFlags(fs *flag.FlagSet) {
	fs.Var(textFlag{&c.server}, "server", "`URL` of the parley server (default $PARLEY_SERVER, else "+defaultServer+")")
	fs.Var(textFlag{&c.token}, "token", "bearer `TOKEN` of the admin API (default $PARLEY_ADMIN_TOKEN)")
	fs.Var(boolFlag{&c.json}, "json", "print the server's JSON answer instead of a table")
}

// resolve applies the environment and defaults and checks the server URL.
func (c *adminClient) resolve() error {
	if c.server == "" {
		c.server = os.Getenv("PARLEY_SERVER")
	}
	if c.server == "" {
		c.server = defaultServer
	}
	if c.token == "" {
		c.token = os.Getenv("PARLEY_ADMIN_TOKEN")
	}
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("--server must be an http:// or https:// URL without credentials, such as %s; got %q", defaultServer, c.server)
	}
	c.server = strings.TrimRight(u.String(), "/")
	c.hc = &http.Client{
		Timeout: dispatch.AdminTimeout + 5*time.Second,
		// A redirect would take the token somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return nil
}

// maxAnswer bounds how much of an answer the CLI reads.
const maxAnswer = 64 << 20

// call sends one request and returns the answer's body, or an error that says
// what went wrong in the user's terms.
func (c *adminClient) call(ctx context.Context, method, path string, q url.Values, body any) ([]byte, error) {
	if c.token == "" {
		return nil, errors.New("no admin token: pass --token or set PARLEY_ADMIN_TOKEN (the server's admin.token)")
	}
	u := c.server + dispatch.AdminPrefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return nil, fmt.Errorf("the parley server at %s did not answer within %s", c.server, c.hc.Timeout)
		}
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the parley server at %s: %v (is 'parley serve' running there? set --server or PARLEY_SERVER)", c.server, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s %s: %w", method, u, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return b, nil
	}
	return nil, answerError(res, b, c.server)
}

// answerError turns an error answer into a message for the user.
func answerError(res *http.Response, b []byte, server string) error {
	var e struct {
		Error     string `json:"error"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		// Not the admin API speaking: another server, or a parley without
		// webhook endpoints (the admin API is not mounted then).
		if res.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s has no webhook admin API (404 at %s): is it 'parley serve' with webhook endpoints in its --server-config?",
				server, res.Request.URL.Path)
		}
		return fmt.Errorf("%s answered %s: %s", server, res.Status, snippet(string(b), 200))
	}
	switch res.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("the server refused the admin token (%s): check --token / PARLEY_ADMIN_TOKEN", e.Error)
	case http.StatusForbidden:
		return fmt.Errorf("the server refused the request (403): %s", e.Error)
	}
	msg := fmt.Sprintf("%s (%d %s)", e.Error, res.StatusCode, e.Code)
	if res.StatusCode >= 500 {
		msg += ", request " + e.RequestID
	}
	return errors.New(msg)
}

// get calls the API and either prints the raw answer (--json) or decodes it
// into v and returns true, for the caller to print.
func (w *whRun) get(ctx context.Context, method, path string, q url.Values, body, v any) (bool, error) {
	b, err := w.c.call(ctx, method, path, q, body)
	if err != nil {
		return false, err
	}
	if w.c.json {
		_, err := w.out.Write(b)
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("the server's answer to %s %s is not what this parley expects (%v); try --json", method, path, err)
	}
	return true, nil
}

func setupEndpoints(fs *flag.FlagSet) func(context.Context, *whRun) error {
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(0, ""); err != nil {
			return err
		}
		var l dispatch.EndpointList
		if ok, err := w.get(ctx, http.MethodGet, "endpoints", nil, nil, &l); !ok {
			return err
		}
		tw := table(w.out)
		fmt.Fprintln(tw, "ID\tSTATE\tENABLED\tIN FLIGHT\tPENDING\tRETRYING\tDLQ\tLAST")
		var disabled []string
		for _, s := range l.Endpoints {
			h := s.Health
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%d\t%s\n", s.ID, h.State, yesNo(h.Enabled), h.InFlight, h.MaxInFlight,
				s.Pending, s.Retrying, s.DeadLettered, lastResult(h))
			if !h.Enabled {
				disabled = append(disabled, fmt.Sprintf("%s is disabled: %s", s.ID, h.DisabledReason))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, d := range disabled {
			fmt.Fprintln(w.out, d)
		}
		p := l.Producer
		_, err := fmt.Fprintf(w.out, "producer: %d accepted, %d stored, %d dropped, %d republished; buffer %d/%d\n",
			p.Accepted, p.Stored, p.Dropped, p.Republished, p.Buffered, p.BufferSize)
		return err
	}
}

func setupEndpoint(fs *flag.FlagSet) func(context.Context, *whRun) error {
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(1, "an endpoint id"); err != nil {
			return err
		}
		var s dispatch.EndpointStatus
		if ok, err := w.get(ctx, http.MethodGet, "endpoints/"+url.PathEscape(w.args[0]), nil, nil, &s); !ok {
			return err
		}
		return printEndpoint(w.out, &s)
	}
}

func printEndpoint(out io.Writer, s *dispatch.EndpointStatus) error {
	h := s.Health
	tw := table(out)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("id", "%s", s.ID)
	row("url", "%s", s.URL)
	row("events", "%s", strings.Join(s.Events, ", "))
	if len(s.Agents) > 0 {
		row("agents", "%s", strings.Join(s.Agents, ", "))
	} else {
		row("agents", "all")
	}
	row("ordering", "%s", s.Ordering)
	row("secrets", "%d", s.Secrets)
	if h.Enabled {
		row("enabled", "yes")
	} else {
		row("enabled", "no: %s", h.DisabledReason)
	}
	row("circuit", "%s, %d consecutive failures", h.State, h.ConsecutiveFailures)
	if !h.OpenUntil.IsZero() {
		row("open until", "%s", stamp(h.OpenUntil))
	}
	row("in flight", "%d/%d", h.InFlight, h.MaxInFlight)
	if s.RateLimit > 0 {
		row("rate limit", "%g/s", s.RateLimit)
	} else {
		row("rate limit", "none")
	}
	row("last status", "%s", orDash(h.LastStatus))
	if h.LastError != "" {
		row("last error", "%s (%s)", h.LastError, stamp(h.LastErrorAt))
	}
	row("last success", "%s", stamp(h.LastSuccess))
	row("queue", "%d pending, %d retrying, %d dead-lettered", s.Pending, s.Retrying, s.DeadLettered)
	n := s.Node
	row("this node", "%d attempts, %d delivered, %d retried, %d dead-lettered, %d skipped (filters)",
		n.Attempts, n.Delivered, n.Retried, n.DeadLettered, n.Skipped)
	return tw.Flush()
}

func setupEvents(fs *flag.FlagSet) func(context.Context, *whRun) error {
	call := fs.String("call", "", "only this call's events (call `ID`)")
	typ := fs.String("type", "", "only events whose type matches this `GLOB` (call.*, speech.transcribed)")
	limit := fs.Int("limit", 50, "show at most `N` events (1 to 1000)")
	before := fs.Uint64("before", 0, "only events stored before this queue `POSITION` (the next page)")
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(0, ""); err != nil {
			return err
		}
		if *limit < 1 || *limit > 1000 {
			return w.usage("--limit must be from 1 to 1000, got %d", *limit)
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		setIf(q, "call_id", *call)
		setIf(q, "type", *typ)
		if *before > 0 {
			q.Set("before", strconv.FormatUint(*before, 10))
		}
		var l dispatch.EventList
		if ok, err := w.get(ctx, http.MethodGet, "events", q, nil, &l); !ok {
			return err
		}
		if len(l.Events) == 0 {
			_, err := fmt.Fprintln(w.out, "no stored events match")
			return err
		}
		tw := table(w.out)
		fmt.Fprintln(tw, "POSITION\tSTORED\tEVENT ID\tTYPE\tCALL\tSEQ")
		for _, e := range l.Events {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", e.QueueSeq, stamp(e.StoredAt), e.EventID, e.Type, e.CallID, e.Sequence)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if l.NextBefore > 0 {
			fmt.Fprintf(w.out, "older events: --before %d\n", l.NextBefore)
		}
		return nil
	}
}

func setupAttempts(fs *flag.FlagSet) func(context.Context, *whRun) error {
	ep := fs.String("endpoint", "", "only the attempts at this endpoint (`ID`)")
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(1, "an event id"); err != nil {
			return err
		}
		q := url.Values{}
		setIf(q, "endpoint", *ep)
		var l dispatch.AttemptList
		if ok, err := w.get(ctx, http.MethodGet, "events/"+url.PathEscape(w.args[0])+"/attempts", q, nil, &l); !ok {
			return err
		}
		if len(l.Attempts) == 0 {
			_, err := fmt.Fprintf(w.out, "no attempts logged for event %s\n", w.args[0])
			return err
		}
		tw := table(w.out)
		fmt.Fprintln(tw, "ENDPOINT\t#\tAT\tSTATUS\tLATENCY\tOUTCOME\tNEXT\tERROR")
		for _, a := range l.Attempts {
			next := "-"
			switch {
			case a.DeadLettered:
				next = "dead-lettered"
			case !a.NextAt.IsZero():
				next = stamp(a.NextAt)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.EndpointID, a.N, stamp(a.At), orDash(a.Status),
				a.Latency.Round(time.Millisecond/10), a.Outcome, next, snippet(a.Err, 80))
		}
		return tw.Flush()
	}
}

func setupDLQ(fs *flag.FlagSet) func(context.Context, *whRun) error {
	ep := fs.String("endpoint", "", "only this endpoint's dead letters (`ID`)")
	ev := fs.String("event", "", "only this event (event `ID`)")
	since := fs.String("since", "", "dead-lettered at or after `T` (RFC 3339, or a duration back from now: 2h)")
	until := fs.String("until", "", "dead-lettered before `T` (RFC 3339, or a duration back from now)")
	limit := fs.Int("limit", 100, "show at most `N` (1 to 10000)")
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(0, ""); err != nil {
			return err
		}
		if *limit < 1 || *limit > 10000 {
			return w.usage("--limit must be from 1 to 10000, got %d", *limit)
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		setIf(q, "endpoint", *ep)
		setIf(q, "event_id", *ev)
		for _, t := range []struct{ name, v string }{{"since", *since}, {"until", *until}} {
			at, err := parseWhen(t.v, time.Now())
			if err != nil {
				return w.usage("--%s: %v", t.name, err)
			}
			if !at.IsZero() {
				q.Set(t.name, at.Format(time.RFC3339Nano))
			}
		}
		var l dispatch.DeadLetterList
		if ok, err := w.get(ctx, http.MethodGet, "dlq", q, nil, &l); !ok {
			return err
		}
		if len(l.DeadLetters) == 0 {
			_, err := fmt.Fprintln(w.out, "no dead letters match")
			return err
		}
		tw := table(w.out)
		fmt.Fprintln(tw, "ENDPOINT\tEVENT ID\tTYPE\tCALL\tATTEMPTS\tDEAD-LETTERED\tREASON")
		for _, d := range l.DeadLetters {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", d.EndpointID, d.EventID, d.Type, d.CallID, d.Attempts, stamp(d.DeadAt), snippet(d.Reason, 80))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(l.DeadLetters) == *limit {
			fmt.Fprintf(w.out, "showing the first %d; raise --limit or narrow --since/--until for more\n", *limit)
		}
		return nil
	}
}

func setupReplay(fs *flag.FlagSet) func(context.Context, *whRun) error {
	ep := fs.String("endpoint", "", "the endpoint whose dead letters to replay (`ID`, required)")
	ev := fs.String("event", "", "replay this one event (event `ID`)")
	since := fs.String("since", "", "replay those dead-lettered at or after `T` (RFC 3339, or a duration back from now: 2h)")
	until := fs.String("until", "", "replay those dead-lettered before `T` (RFC 3339, or a duration back from now)")
	all := fs.Bool("all", false, "replay the endpoint's whole dead-letter queue")
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(0, ""); err != nil {
			return err
		}
		if *ep == "" {
			return w.usage("--endpoint is required")
		}
		ranged := *since != "" || *until != ""
		chosen := 0
		for _, b := range []bool{*ev != "", ranged, *all} {
			if b {
				chosen++
			}
		}
		if chosen != 1 {
			return w.usage("choose one of --event, --since/--until or --all")
		}
		req := dispatch.ReplayRequest{Endpoint: *ep, EventID: *ev, All: *all}
		now := time.Now()
		var err error
		if req.Since, err = parseWhen(*since, now); err != nil {
			return w.usage("--since: %v", err)
		}
		if req.Until, err = parseWhen(*until, now); err != nil {
			return w.usage("--until: %v", err)
		}
		var res dispatch.ReplayResult
		if ok, err := w.get(ctx, http.MethodPost, "replay", nil, req, &res); !ok {
			return err
		}
		if res.Replayed == 0 {
			_, err := fmt.Fprintf(w.out, "nothing replayed: no dead letters of %s matched\n", *ep)
			return err
		}
		fmt.Fprintf(w.out, "replayed %d dead %s to %s, with the same event ids:\n", res.Replayed, plural(res.Replayed, "letter", "letters"), *ep)
		for _, id := range res.EventIDs {
			fmt.Fprintf(w.out, "  %s\n", id)
		}
		if more := res.Replayed - len(res.EventIDs); more > 0 {
			fmt.Fprintf(w.out, "  … and %d more\n", more)
		}
		return nil
	}
}

func setupEnable(fs *flag.FlagSet) func(context.Context, *whRun) error {
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(1, "an endpoint id"); err != nil {
			return err
		}
		var s dispatch.EndpointStatus
		if ok, err := w.get(ctx, http.MethodPost, "endpoints/"+url.PathEscape(w.args[0])+"/enable", nil, nil, &s); !ok {
			return err
		}
		_, err := fmt.Fprintf(w.out, "endpoint %s enabled (circuit %s); %d pending, %d retrying, %d dead-lettered\n",
			s.ID, s.Health.State, s.Pending, s.Retrying, s.DeadLettered)
		return err
	}
}

func setupDisable(fs *flag.FlagSet) func(context.Context, *whRun) error {
	reason := fs.String("reason", "", "why, shown in the endpoint's health (`TEXT`; default \"disabled by an operator\")")
	return func(ctx context.Context, w *whRun) error {
		if err := w.nargs(1, "an endpoint id"); err != nil {
			return err
		}
		var body any
		if *reason != "" {
			body = dispatch.DisableRequest{Reason: *reason}
		}
		var s dispatch.EndpointStatus
		if ok, err := w.get(ctx, http.MethodPost, "endpoints/"+url.PathEscape(w.args[0])+"/disable", nil, body, &s); !ok {
			return err
		}
		_, err := fmt.Fprintf(w.out, "endpoint %s disabled: %s\nits events wait in the queue; resume with 'parley webhooks enable %s'\n",
			s.ID, s.Health.DisabledReason, s.ID)
		return err
	}
}

// parseWhen reads an RFC 3339 time or a duration back from now ("2h"); ""
// is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-11-01T10:00:00Z) or a duration back from now (90m, 24h), got %q", s)
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(status int) string {
	if status == 0 {
		return "-"
	}
	return strconv.Itoa(status)
}

// stamp prints a time as RFC 3339 in UTC, which --since and --until take back.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// lastResult summarises an endpoint's last attempt: the last failure if it is
// newer than the last success.
func lastResult(h webhooks.EndpointHealth) string {
	switch {
	case h.LastError != "" && h.LastErrorAt.After(h.LastSuccess):
		return fmt.Sprintf("%s at %s: %s", orDash(h.LastStatus), stamp(h.LastErrorAt), snippet(h.LastError, 60))
	case !h.LastSuccess.IsZero():
		return fmt.Sprintf("%s at %s", orDash(h.LastStatus), stamp(h.LastSuccess))
	}
	return "-"
}

// snippet keeps the first line of s, at most n runes.
func snippet(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
