package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks/receiver"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// parley plays the sending side: events in Parley's envelope, signed with the
// signature package exactly as the dispatcher signs them.
type parley struct {
	t       *testing.T
	url     string
	secrets []signature.Secret
	client  *http.Client
}

// post delivers body with webhook-id id and a fresh timestamp; it returns the
// status and the decoded answer.
func (p *parley) post(id string, body []byte) (int, map[string]any) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	signature.SetHeaders(req.Header, p.secrets, id, time.Now(), body)
	return p.do(req)
}

func (p *parley) do(req *http.Request) (int, map[string]any) {
	p.t.Helper()
	resp, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// callEvents returns one call's events, as the call actor emits them.
func callEvents(t *testing.T, callID string) []events.Event {
	t.Helper()
	start := time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC)
	mk := func(seq uint64, typ string, payload map[string]any) events.Event {
		at := start.Add(time.Duration(seq) * 700 * time.Millisecond)
		return events.Event{Type: typ, ID: events.NewEventID(at), APIVersion: events.APIVersion, CallID: callID,
			AgentID: "support", Sequence: seq, Timestamp: at, Payload: payload}
	}
	return []events.Event{
		mk(1, events.CallStarted, map[string]any{"transport": "twilio", "from": "+15550100", "to": "+15550199",
			"sample_rate": 8000, "metadata": map[string]any{"crm_contact": "c-42"}, "agent_name": "Support"}),
		mk(2, events.MediaStreamConnected, map[string]any{"transport": "twilio", "encoding": "pcm16", "sample_rate": 8000}),
		mk(3, events.AgentResponse, map[string]any{"turn": 0, "text": "Hello, how can I help?", "tool_calls": 0, "round": 0}),
		mk(4, events.SpeechTranscribed, map[string]any{"text": "I want to reschedule my appointment", "confidence": 0.93, "is_final": true, "turn": 1}),
		mk(5, events.IntentMatched, map[string]any{"turn": 1, "intent": "reschedule", "confidence": 0.9, "slots": map[string]any{}}),
		mk(6, events.AgentResponse, map[string]any{"turn": 1, "text": "", "tool_calls": 1, "round": 0}),
		mk(7, events.AgentResponse, map[string]any{"turn": 1, "text": "Sure. Which day suits you better, Monday or Tuesday?", "tool_calls": 0, "round": 1}),
		mk(8, events.CallInterrupted, map[string]any{"turn": 1, "played_text": "Sure.", "unplayed_text": "Which day suits you better, Monday or Tuesday?"}),
		mk(9, events.SpeechTranscribed, map[string]any{"text": "tuesday please", "confidence": 0.88, "is_final": true, "turn": 2}),
		mk(10, events.IntentMatched, map[string]any{"turn": 2, "intent": "inform", "confidence": 1, "slots": map[string]any{"day": "tuesday"}}),
		mk(11, events.AgentResponse, map[string]any{"turn": 2, "text": "Done, see you Tuesday. Goodbye!", "tool_calls": 0, "round": 0}),
		mk(12, events.CallEnded, map[string]any{"reason": "agent_hangup", "duration_ms": 8400.5, "turns": 2, "interruptions": 1,
			"transcript": []map[string]any{{"role": "agent", "text": "Hello, how can I help?", "at_ms": 10}}}),
	}
}

func encode(t *testing.T, e events.Event) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer is a log sink safe to read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the program as main would, and stops it when the test ends (or
// when the returned stop is called).
func start(t *testing.T, args []string, env map[string]string) (base string, logs *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	logs = &syncBuffer{}
	go func() {
		done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, logs,
			func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("the server did not start")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return base, logs, stop
}

func getCall(t *testing.T, base, id string) (int, CallView) {
	t.Helper()
	resp, err := http.Get(base + "/calls/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c CallView
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, c
}

func TestReceiverEndToEnd(t *testing.T) {
	oldSecret, _ := signature.GenerateSecret()
	newSecret, _ := signature.GenerateSecret()
	data := filepath.Join(t.TempDir(), "calls.json")
	// Mid-rotation: the receiver knows both secrets (one flag, one comma-separated
	// pair via the environment is ignored when flags are given).
	args := []string{"--secret", newSecret.Encode() + "," + oldSecret.Encode(), "--data", data, "--gap-wait", "1h"}
	base, logs, stop := start(t, args, map[string]string{secretEnv: "whsec_ignored"})
	p := &parley{t: t, url: base + "/webhooks/parley", secrets: []signature.Secret{oldSecret}, client: &http.Client{Timeout: 10 * time.Second}}

	const callID = "call_01JH0000000000000000000000"
	evs := callEvents(t, callID)
	send := func(seq int) (int, map[string]any) { e := evs[seq-1]; return p.post(e.ID, encode(t, e)) }

	// The first events arrive out of order: nothing can be applied before 1.
	for _, seq := range []int{4, 3, 2} {
		if code, ans := send(seq); code != 200 || ans["status"] != outcomeBuffered {
			t.Fatalf("seq %d: %d %v", seq, code, ans)
		}
	}
	code, c := getCall(t, base, callID)
	if code != 200 || c.AppliedThrough != 0 || c.PendingEvents != 3 || len(c.Transcript) != 0 || fmt.Sprint(c.MissingSequences) != "[1]" {
		t.Fatalf("before call.started: %d %+v", code, c)
	}
	if code, ans := send(1); code != 200 || ans["status"] != outcomeApplied {
		t.Fatalf("seq 1: %d %v", code, ans)
	}
	if _, c = getCall(t, base, callID); c.AppliedThrough != 4 || c.PendingEvents != 0 || len(c.Transcript) != 2 {
		t.Fatalf("after call.started: %+v", c)
	}

	// A replay of an event already stored: acknowledged, not applied twice.
	if code, ans := send(4); code != 200 || ans["status"] != "duplicate" {
		t.Fatalf("replay of seq 4: %d %v", code, ans)
	}
	// A captured request replayed a minute later (its timestamp still within
	// tolerance): recognised by its webhook-id.
	body := encode(t, evs[2])
	replay, _ := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	signature.SetHeaders(replay.Header, p.secrets, evs[2].ID, time.Now().Add(-time.Minute), body)
	if code, ans := p.do(replay); code != 200 || ans["status"] != "duplicate" {
		t.Fatalf("captured replay: %d %v", code, ans)
	}
	// A forged request is refused and changes nothing.
	forged := evs[10]
	forged.Payload = map[string]any{"turn": 2, "text": "Your card number please?"}
	fake := &parley{t: t, url: p.url, secrets: []signature.Secret{mustGenerate(t)}, client: p.client}
	if code, ans := fake.post(forged.ID, encode(t, forged)); code != 401 || ans["code"] != "bad_signature" {
		t.Fatalf("forged: %d %v", code, ans)
	}

	// The rest, shuffled; Parley has switched to the new secret meanwhile.
	p.secrets = []signature.Secret{newSecret}
	for _, seq := range []int{12, 7, 5, 11, 9, 6, 10, 8} {
		if code, ans := send(seq); code != 200 {
			t.Fatalf("seq %d: %d %v", seq, code, ans)
		}
	}
	if code, ans := send(12); code != 200 || ans["status"] != "duplicate" {
		t.Fatalf("retry of call.ended: %d %v", code, ans)
	}

	check := func(when string) {
		t.Helper()
		code, c := getCall(t, base, callID)
		if code != 200 {
			t.Fatalf("%s: GET /calls/%s: %d", when, callID, code)
		}
		checkCall(t, when, c)
	}
	check("after all events")

	resp, err := http.Get(base + "/calls")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Calls []CallSummary }
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Calls) != 1 || list.Calls[0].ID != callID || list.Calls[0].Status != StatusEnded ||
		list.Calls[0].TranscriptLines != 5 || fmt.Sprint(list.Calls[0].Intents) != "[reschedule inform]" {
		t.Fatalf("GET /calls = %+v", list)
	}
	if code, _ := getCall(t, base, "call_unknown"); code != 404 {
		t.Fatalf("unknown call: %d", code)
	}
	if !strings.Contains(logs.String(), "webhook rejected") {
		t.Fatalf("the forged request was not logged:\n%s", logs)
	}

	// Restart on the same data file: everything is still there, and an event
	// Parley re-delivers after the restart (the in-memory dedupe is empty now)
	// is still recognised as a duplicate.
	stop()
	if info, err := os.Stat(data); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("data file: %v, %v", info, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(data), ".calls.json.tmp-*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	base, _, _ = start(t, []string{"--data", data}, map[string]string{secretEnv: newSecret.Encode()})
	p.url = base + "/webhooks/parley"
	check("after a restart")
	if code, ans := send(9); code != 200 || ans["status"] != "duplicate" {
		t.Fatalf("re-delivery after restart: %d %v", code, ans)
	}
	check("after a re-delivery")
}

func checkCall(t *testing.T, when string, c CallView) {
	t.Helper()
	fail := func(format string, args ...any) { t.Helper(); t.Fatalf(when+": "+format, args...) }
	if c.ID != "call_01JH0000000000000000000000" || c.AgentID != "support" || c.AgentName != "Support" ||
		c.From != "+15550100" || c.To != "+15550199" || c.Transport != "twilio" || c.Metadata["crm_contact"] != "c-42" {
		fail("call = %+v", c.Call)
	}
	if c.Status != StatusEnded || c.EndReason != "agent_hangup" || c.DurationMS != 8400.5 || c.Turns != 2 || c.Interruptions != 1 {
		fail("outcome = %s %s %v %d %d", c.Status, c.EndReason, c.DurationMS, c.Turns, c.Interruptions)
	}
	if c.StartedAt == nil || c.EndedAt == nil || !c.StartedAt.Equal(time.Date(2026, 11, 27, 10, 15, 0, 700_000_000, time.UTC)) ||
		c.EndedAt.Sub(*c.StartedAt) != 11*700*time.Millisecond {
		fail("times = %v %v", c.StartedAt, c.EndedAt)
	}
	if c.AppliedThrough != 12 || c.PendingEvents != 0 || len(c.MissingSequences) != 0 || c.EventsApplied != 12 {
		fail("ordering state = through %d, pending %d, missing %v, applied %d", c.AppliedThrough, c.PendingEvents, c.MissingSequences, c.EventsApplied)
	}
	want := []string{
		"3 agent Hello, how can I help?",
		"4 caller I want to reschedule my appointment",
		"7 agent Sure. Which day suits you better, Monday or Tuesday? (heard: Sure.)",
		"9 caller tuesday please",
		"11 agent Done, see you Tuesday. Goodbye!",
	}
	var got []string
	for _, l := range c.Transcript {
		s := fmt.Sprintf("%d %s %s", l.Sequence, l.Role, l.Text)
		if l.Interrupted {
			s += " (heard: " + l.Heard + ")"
		}
		got = append(got, s)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		fail("transcript:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(c.Intents) != 2 || c.Intents[0].Name != "reschedule" || c.Intents[1].Name != "inform" || c.Intents[1].Slots["day"] != "tuesday" {
		fail("intents = %+v", c.Intents)
	}
}

func mustGenerate(t *testing.T) signature.Secret {
	t.Helper()
	s, err := signature.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGapWait: a missing event holds the call's later events back only until
// --gap-wait; if it turns up afterwards it is still applied, in its place.
func TestGapWait(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := NewStore("", 30*time.Second, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	evs := callEvents(t, "call_gap")
	env := func(seq int) receiver.EventEnvelope {
		var e receiver.EventEnvelope
		if err := json.Unmarshal(encode(t, evs[seq-1]), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, seq := range []int{1, 2, 3, 5, 6, 7} {
		if _, err := s.Apply(env(seq)); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := s.Get("call_gap")
	if c.AppliedThrough != 3 || c.PendingEvents != 3 || fmt.Sprint(c.MissingSequences) != "[4]" {
		t.Fatalf("waiting: %+v", c)
	}
	now = now.Add(29 * time.Second)
	_ = s.FlushGaps()
	if c, _ = s.Get("call_gap"); c.AppliedThrough != 3 {
		t.Fatalf("gave up too early: through %d", c.AppliedThrough)
	}
	now = now.Add(time.Second)
	_ = s.FlushGaps()
	c, _ = s.Get("call_gap")
	if c.AppliedThrough != 7 || c.PendingEvents != 0 || fmt.Sprint(c.MissingSequences) != "[4]" || len(c.Transcript) != 2 {
		t.Fatalf("after the gap wait: %+v", c)
	}
	if out, _ := s.Apply(env(4)); out != outcomeApplied {
		t.Fatalf("late event: %s", out)
	}
	c, _ = s.Get("call_gap")
	if len(c.MissingSequences) != 0 || len(c.Transcript) != 3 || c.Transcript[1].Sequence != 4 || c.Transcript[1].Role != "caller" {
		t.Fatalf("after the late event: %+v", c)
	}
	if out, _ := s.Apply(env(4)); out != outcomeDuplicate {
		t.Fatalf("late event again: %s", out)
	}
	// An event that names no call is acknowledged and ignored.
	if out, _ := s.Apply(receiver.EventEnvelope{EventType: "system.ping", EventID: "evt_x"}); out != outcomeIgnored {
		t.Fatalf("event without a call: %s", out)
	}
}

func TestCorruptDataFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"calls":{`), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := mustGenerate(t).Encode()
	err := run(context.Background(), []string{"--secret", secret, "--data", path, "--addr", "127.0.0.1:0"}, os.Getenv, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "is not valid JSON") || !strings.Contains(err.Error(), "move it away") {
		t.Fatalf("err = %v", err)
	}
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"CRM-style receiver", "--gap-wait", "PARLEY_WEBHOOK_SECRET", "GET  /calls/{id}", "-addr", "127.0.0.1:9090"} {
		if !strings.Contains(out.String(), want) && !strings.Contains(out.String(), strings.TrimPrefix(want, "-")) {
			t.Errorf("--help does not mention %q:\n%s", want, out.String())
		}
	}
	tests := []struct {
		args []string
		env  string
		want string
	}{
		{nil, "", "no signing secret"},
		{nil, "not-a-secret", `secret 1 of 1: invalid webhook secret: missing the "whsec_" prefix`},
		{[]string{"--secret", "whsec_c2hvcnQ="}, "", "5 bytes is too short"},
		{[]string{"--secret", "x", "extra"}, "", "unexpected arguments"},
		{[]string{"--path", "webhooks"}, "whsec_x", "must start with /"},
		{[]string{"--gap-wait", "0s"}, "whsec_x", "--gap-wait must be positive"},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, func(string) string { return tt.env }, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v (env %q): err = %v, want %q", tt.args, tt.env, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "not-a-secret") {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
}
