package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

const cliAdminToken = "cli-test-admin-token"

// hookReceiver records the webhook-id of every request and answers 500
// while down.
type hookReceiver struct {
	*httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	ids  []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		r.mu.Unlock()
		if r.down.Load() {
			http.Error(w, "crm database unavailable", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// adminFixture is a real dispatcher with one endpoint, "crm", that dead-letters
// after one failed attempt, served by the admin API over real HTTP.
func adminFixture(t *testing.T) (*dispatch.Dispatcher, *hookReceiver, string) {
	t.Helper()
	rcv := newHookReceiver(t)
	ep := webhooks.Endpoint{ID: "crm", URL: rcv.URL + "/hooks", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		AllowInsecureLoopback: true, Retry: &webhooks.RetryPolicy{Schedule: []agents.Duration{0}}}
	d, err := dispatch.Open(context.Background(), dispatch.Config{DataDir: t.TempDir(), Endpoints: []webhooks.Endpoint{ep},
		RetryPoll: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	srv := httptest.NewServer(dispatch.NewAdminHandler(d, cliAdminToken, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return d, rcv, srv.URL
}

func hookEvent(call string, seq uint64) *events.Event {
	return &events.Event{Type: events.SpeechTranscribed, ID: events.NewEventID(time.Now()), APIVersion: events.APIVersion,
		CallID: call, AgentID: "demo", Sequence: seq, Timestamp: time.Now(), Payload: map[string]any{"text": "hello", "final": true}}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wh runs 'parley webhooks ARGS --server URL --token T'.
func wh(t *testing.T, server string, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append(append([]string{"webhooks"}, args...), "--server", server, "--token", cliAdminToken)...)
}

func mustWH(t *testing.T, server string, args ...string) string {
	t.Helper()
	code, out, errOut := wh(t, server, args...)
	if code != 0 {
		t.Fatalf("parley webhooks %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func contains(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

func TestWebhooksCLIDeadLetterReplayAndDisable(t *testing.T) {
	d, rcv, server := adminFixture(t)
	rcv.down.Store(true)
	ev, other := hookEvent("call_cli", 1), hookEvent("call_other", 1)
	d.Accept(ev)
	d.Accept(other)
	waitFor(t, "two dead letters", func() bool {
		dl, err := d.DeadLetters(context.Background(), dispatch.DLQQuery{})
		return err == nil && len(dl) == 2
	})

	out := mustWH(t, server, "endpoints")
	contains(t, "endpoints", out, "ID", "STATE", "ENABLED", "PENDING", "RETRYING", "DLQ", "LAST",
		"crm", "closed", "yes", "500 at ", "producer: 2 accepted, 2 stored, 0 dropped")
	if fields := strings.Fields(strings.Split(out, "\n")[1]); len(fields) < 7 || fields[0] != "crm" || fields[6] != "2" {
		t.Errorf("crm's row %q: want 2 in the DLQ column", fields)
	}

	out = mustWH(t, server, "endpoint", "crm")
	contains(t, "endpoint crm", out, "url:", rcv.URL+"/hooks", "enabled:", "last status:", "500",
		"0 pending, 0 retrying, 2 dead-lettered", "2 attempts, 0 delivered")
	if strings.Contains(out, "whsec_") {
		t.Errorf("endpoint shows a secret:\n%s", out)
	}

	out = mustWH(t, server, "events", "--call", "call_cli")
	contains(t, "events --call", out, "POSITION", ev.ID, "speech.transcribed", "call_cli")
	if strings.Contains(out, other.ID) {
		t.Errorf("events --call call_cli shows the other call:\n%s", out)
	}
	out = mustWH(t, server, "events", "--limit", "1")
	contains(t, "events --limit 1", out, other.ID, "older events: --before ")

	waitFor(t, "the attempt log", func() bool {
		_, out, _ := wh(t, server, "attempts", ev.ID)
		return strings.Contains(out, "dead-lettered")
	})
	out = mustWH(t, server, "attempts", ev.ID, "--endpoint", "crm")
	contains(t, "attempts", out, "ENDPOINT", "crm", "500", "retry", "dead-lettered")

	out = mustWH(t, server, "dlq", "--endpoint", "crm", "--since", "1h")
	contains(t, "dlq", out, ev.ID, other.ID, "call_cli", "all 1 attempts failed")
	if out := mustWH(t, server, "dlq", "--until", "1h"); !strings.Contains(out, "no dead letters match") {
		t.Errorf("dlq --until 1h ago:\n%s", out)
	}

	// JSON for scripts: the server's own answer.
	var dl dispatch.DeadLetterList
	if err := json.Unmarshal([]byte(mustWH(t, server, "dlq", "--json")), &dl); err != nil || len(dl.DeadLetters) != 2 {
		t.Fatalf("dlq --json: %+v %v", dl, err)
	}

	// The receiver recovers; one event is replayed with its own event_id.
	rcv.down.Store(false)
	out = mustWH(t, server, "replay", "--endpoint", "crm", "--event", ev.ID)
	contains(t, "replay", out, "replayed 1 dead letter to crm", ev.ID)
	waitFor(t, "the replayed delivery", func() bool {
		ids := rcv.received()
		return len(ids) == 3 && ids[2] == ev.ID
	})
	out = mustWH(t, server, "replay", "--endpoint", "crm", "--all")
	contains(t, "replay --all", out, "replayed 1 dead letter", other.ID)
	waitFor(t, "the second replay", func() bool { return len(rcv.received()) == 4 })
	if out := mustWH(t, server, "replay", "--endpoint", "crm", "--since", "1h"); !strings.Contains(out, "nothing replayed") {
		t.Errorf("replay of an empty DLQ:\n%s", out)
	}

	// Disable and enable, flags after the id.
	out = mustWH(t, server, "disable", "crm", "--reason", "CRM migration")
	contains(t, "disable", out, "endpoint crm disabled: CRM migration", "parley webhooks enable crm")
	var st dispatch.EndpointStatus
	if err := json.Unmarshal([]byte(mustWH(t, server, "endpoint", "crm", "--json")), &st); err != nil || st.Health.Enabled || st.Health.DisabledReason != "CRM migration" {
		t.Fatalf("endpoint --json after disable: %+v %v", st.Health, err)
	}
	contains(t, "endpoints while disabled", mustWH(t, server, "endpoints"), "crm is disabled: CRM migration")
	held := hookEvent("call_held", 1)
	d.Accept(held)
	time.Sleep(200 * time.Millisecond)
	if n := len(rcv.received()); n != 4 {
		t.Fatalf("%d requests while disabled, want 4", n)
	}
	contains(t, "enable", mustWH(t, server, "enable", "crm"), "endpoint crm enabled (circuit closed)")
	waitFor(t, "the held event", func() bool {
		ids := rcv.received()
		return len(ids) == 5 && ids[4] == held.ID
	})
}

func TestWebhooksCLIErrors(t *testing.T) {
	_, _, server := adminFixture(t)
	t.Setenv("PARLEY_ADMIN_TOKEN", "")
	t.Setenv("PARLEY_SERVER", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "http://" + ln.Addr().String()
	ln.Close()
	notParley := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notParley.Close)

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"wrong token", []string{"endpoints", "--server", server, "--token", "nope"}, 1, "check --token / PARLEY_ADMIN_TOKEN"},
		{"no token", []string{"endpoints", "--server", server}, 1, "no admin token: pass --token or set PARLEY_ADMIN_TOKEN"},
		{"unknown endpoint", []string{"endpoint", "nope", "--server", server, "--token", cliAdminToken}, 1, `no webhook endpoint with this id: "nope" (404 unknown_endpoint)`},
		{"unknown endpoint on enable", []string{"enable", "nope", "--server", server, "--token", cliAdminToken}, 1, "404 unknown_endpoint"},
		{"replay at an unknown endpoint", []string{"replay", "--endpoint", "nope", "--all", "--server", server, "--token", cliAdminToken}, 1, "404 unknown_endpoint"},
		{"server down", []string{"endpoints", "--server", nobody, "--token", "x"}, 1, "cannot reach the parley server at " + nobody},
		{"not a parley admin API", []string{"endpoints", "--server", notParley.URL, "--token", "x"}, 1, "has no webhook admin API"},
		{"bad server URL", []string{"endpoints", "--server", "127.0.0.1:8080", "--token", "x"}, 2, "--server must be an http:// or https:// URL"},
		{"no command", []string{}, 2, "name a command"},
		{"unknown command", []string{"frob"}, 2, `unknown command "frob"`},
		{"missing id", []string{"endpoint", "--token", "x"}, 2, "give an endpoint id"},
		{"extra argument", []string{"endpoints", "crm", "--token", "x"}, 2, `unexpected argument "crm"`},
		{"replay without endpoint", []string{"replay", "--all", "--token", "x"}, 2, "--endpoint is required"},
		{"replay of nothing", []string{"replay", "--endpoint", "crm", "--token", "x"}, 2, "choose one of --event, --since/--until or --all"},
		{"replay of two selections", []string{"replay", "--endpoint", "crm", "--all", "--event", "e", "--token", "x"}, 2, "choose one of"},
		{"bad --since", []string{"dlq", "--since", "yesterday", "--token", "x"}, 2, "RFC 3339"},
		{"bad --limit", []string{"events", "--limit", "0", "--token", "x"}, 2, "--limit must be from 1 to 1000"},
		{"unknown flag", []string{"endpoints", "--frob"}, 2, "flag provided but not defined"},
		{"server's own validation", []string{"events", "--type", "[call", "--server", server, "--token", cliAdminToken}, 1, "type is not a valid glob"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"webhooks"}, c.args...)...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d (want %d); stderr lacks %q:\n%s\nstdout:\n%s", code, c.code, c.want, errOut, out)
			}
			if strings.Contains(errOut+out, cliAdminToken) {
				t.Fatalf("the output shows the token:\n%s%s", out, errOut)
			}
		})
	}
}

func TestWebhooksCLIHelp(t *testing.T) {
	t.Setenv("PARLEY_ADMIN_TOKEN", "env-secret-token")
	code, _, errOut := runCLI(t, "webhooks", "--help")
	if code != 0 || !strings.Contains(errOut, "Usage: parley webhooks") {
		t.Fatalf("webhooks --help: %d\n%s", code, errOut)
	}
	for _, c := range whCommands {
		contains(t, "webhooks --help", errOut, "  "+c.name+" ")
		code, out, errOut := runCLI(t, "webhooks", c.name, "--help")
		if code != 0 {
			t.Errorf("webhooks %s --help: exit %d", c.name, code)
		}
		contains(t, "webhooks "+c.name+" --help", errOut, "Usage: parley webhooks "+c.name, "Flags:", "-server URL", "-token TOKEN", "-json")
		if strings.Contains(out+errOut, "env-secret-token") {
			t.Errorf("webhooks %s --help shows the token from the environment", c.name)
		}
	}
	// The token from the environment is used.
	_, _, server := adminFixture(t)
	t.Setenv("PARLEY_ADMIN_TOKEN", cliAdminToken)
	t.Setenv("PARLEY_SERVER", server)
	if code, out, errOut := runCLI(t, "webhooks", "endpoints"); code != 0 || !strings.Contains(out, "crm") {
		t.Fatalf("with PARLEY_SERVER and PARLEY_ADMIN_TOKEN: %d\n%s%s", code, out, errOut)
	}
}
