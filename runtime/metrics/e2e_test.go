package metrics_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/metrics"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/receiver"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// wait bounds every wait: the test asserts outcomes, not speed.
const wait = 30 * time.Second

// testAgent answers "You said: hello." to anything (fake providers).
const testAgent = `id: test
name: Test agent
greeting: Hi.
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: fake}
`

// hookReceiver is a webhook endpoint built on the receiver package: it
// verifies signatures and records the event ids it got.
type hookReceiver struct {
	url    string
	secret string
	mu     sync.Mutex
	got    map[string]bool // event ids
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	secret, err := signature.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	v, err := receiver.NewVerifier([]string{secret.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	r := &hookReceiver{secret: secret.Encode(), got: map[string]bool{}}
	hs := httptest.NewServer(receiver.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d, _ := receiver.FromContext(req.Context())
		r.mu.Lock()
		r.got[d.Event.EventID] = true
		r.mu.Unlock()
	})))
	t.Cleanup(hs.Close)
	r.url = hs.URL + "/hooks"
	return r
}

func (r *hookReceiver) has(ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if !r.got[id] {
			return false
		}
	}
	return true
}

// utterance is one second of a 440 Hz tone between silences, which the fake
// recogniser hears as "hello".
func utterance() []byte {
	const rate = 16000
	var pcm []int16
	for range rate / 2 {
		pcm = append(pcm, 64)
	}
	for i := range rate {
		pcm = append(pcm, int16(8000*math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	for range rate {
		pcm = append(pcm, 64)
	}
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

// until polls cond (a scrape is not an event) until it holds or wait passes.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestScrapeAfterScriptedCall runs a server with a webhook endpoint, makes a
// call with two turns, and scrapes /metrics over HTTP: the stage histograms,
// call counters and webhook metrics must be there with plausible values, and
// /metrics must want the admin token.
func TestScrapeAfterScriptedCall(t *testing.T) {
	const token = "metrics-test-token"
	rcv := newHookReceiver(t)
	ac, err := agents.Parse("test.yaml", []byte(testAgent), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	srv, err := server.New(server.Config{Agents: []*agents.Config{ac}, Logger: log, MaxCalls: 5,
		Providers: &server.Providers{FakeSTT: &fake.STT{Text: "hello"}, FakeTTS: &fake.TTS{}, FakeLLM: &fake.LLM{}}})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(metrics.Options{MaxCalls: 5, Logger: log})
	srv.Bus().AddSink(m)
	d, err := dispatch.Open(context.Background(), dispatch.Config{
		DataDir: t.TempDir(), Logger: log, Observer: m,
		Endpoints: []webhooks.Endpoint{{ID: "crm", URL: rcv.url, Secrets: []string{rcv.secret}, AllowInsecureLoopback: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Bus().AddSink(d)
	m.WatchWebhooks(d)
	srv.MountMetrics(m.Handler(), token)

	// Record the call's events from the bus, as the dispatcher sees them.
	sub := srv.Bus().Subscribe(1<<14, "")
	var evMu sync.Mutex
	var evs []*events.Event
	evChanged := make(chan struct{}, 1)
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for e := range sub.C() {
			evMu.Lock()
			evs = append(evs, e)
			evMu.Unlock()
			select {
			case evChanged <- struct{}{}:
			default:
			}
		}
	}()
	awaitEvents := func(what string, cond func([]*events.Event) bool) {
		t.Helper()
		deadline := time.After(wait)
		for {
			evMu.Lock()
			ok := cond(evs)
			evMu.Unlock()
			if ok {
				return
			}
			select {
			case <-evChanged:
			case <-deadline:
				t.Fatalf("no %s within %v", what, wait)
			}
		}
	}
	count := func(typ string) func([]*events.Event) bool {
		return func(es []*events.Event) bool {
			n := 0
			for _, e := range es {
				if e.Type == typ {
					n++
				}
			}
			return n > 0
		}
	}
	countAtLeast := func(typ string, want int) func([]*events.Event) bool {
		return func(es []*events.Event) bool {
			n := 0
			for _, e := range es {
				if e.Type == typ {
					n++
				}
			}
			return n >= want
		}
	}

	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		srv.Shutdown(ctx)
		<-subDone
		if err := d.Close(ctx); err != nil {
			t.Errorf("closing the dispatcher: %v", err)
		}
	})

	// /metrics wants the admin token.
	for _, auth := range []string{"", "Bearer wrong"} {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("/metrics with Authorization %q: %d %q, want 401 with a Bearer challenge", auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}

	// A call with two turns, then the caller hangs up.
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cl, err := native.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/v1/ws", nil,
		native.Control{Agent: "test", From: "+15550100", To: "+15550199"}, native.ClientHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	awaitEvents("greeting", func(es []*events.Event) bool {
		for _, e := range es {
			if e.Type == events.CallStateChanged && e.Payload.(map[string]any)["to"] == "listening" {
				return true
			}
		}
		return false
	})
	if f := scrape(t, hs.URL+"/metrics", token); f.value("parley_calls_live", "agent=test", "transport=websocket") != 1 {
		t.Errorf("during the call: %s", f.series("parley_calls_live"))
	}
	const turns = 2
	for i := 1; i <= turns; i++ {
		b := utterance()
		for off := 0; off < len(b); off += 640 { // one 20 ms frame a message
			if err := cl.SendRaw(websocket.BinaryMessage, b[off:min(off+640, len(b))]); err != nil {
				t.Fatal(err)
			}
		}
		awaitEvents("turn.completed", countAtLeast(events.TurnCompleted, i))
	}
	if err := cl.Hangup(); err != nil {
		t.Fatal(err)
	}
	awaitEvents("call.ended", count(events.CallEnded))

	// Every event of the call reaches the receiver.
	evMu.Lock()
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	evMu.Unlock()
	until(t, "delivery of the call's events", func() bool { return rcv.has(ids) })

	var f families
	until(t, "an empty webhook queue", func() bool {
		f = scrape(t, hs.URL+"/metrics", token)
		return f.value("parley_webhook_queue_depth", "endpoint=crm") == 0 &&
			f.value("parley_webhook_attempts_total", "endpoint=crm", "status_class=2xx") >= float64(len(ids))
	})

	// Calls.
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"parley_calls_started_total", []string{"agent=test", "transport=websocket"}, 1},
		{"parley_calls_ended_total", []string{"agent=test", "reason=caller_hangup"}, 1},
		{"parley_calls_live", []string{"agent=test", "transport=websocket"}, 0},
		{"parley_calls_max", nil, 5},
		{"parley_webhook_dlq_size", []string{"endpoint=crm"}, 0},
		{"parley_webhook_retry_depth", []string{"endpoint=crm"}, 0},
		{"parley_webhook_circuit_state", []string{"endpoint=crm"}, 0},
		{"parley_webhook_endpoint_enabled", []string{"endpoint=crm"}, 1},
		{"parley_webhook_queue_up", nil, 1},
		{"parley_webhook_events_dropped_total", nil, 0},
		{"parley_webhook_dead_lettered_total", []string{"endpoint=crm"}, -1}, // never dead-lettered: no series
	} {
		if got := f.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v (have %s)", c.name, c.labels, got, c.want, f.series(c.name))
		}
	}
	if got := f.value("parley_webhook_events_stored_total"); got < float64(len(ids)) {
		t.Errorf("parley_webhook_events_stored_total = %v, want at least the call's %d events", got, len(ids))
	}
	for _, class := range []string{"4xx", "5xx", "network", "timeout"} {
		if got := f.value("parley_webhook_attempts_total", "endpoint=crm", "status_class="+class); got > 0 {
			t.Errorf("%v attempts with status class %s", got, class)
		}
	}

	n, sum := f.hist("parley_turn_response_seconds", "agent=test")
	t.Logf("%d events delivered with %v 2xx attempts; %d turns measured, mean response %.3fs", len(ids),
		f.value("parley_webhook_attempts_total", "endpoint=crm", "status_class=2xx"), n, sum/float64(max(n, 1)))

	// Turns: every stage of the timeline, once per turn, in plausible time.
	for _, stage := range []string{"end_of_turn", "stt_final", "llm_first_token", "first_sentence", "tts_first_audio", "first_frame_out"} {
		n, sum := f.hist("parley_turn_stage_duration_seconds", "agent=test", "stage="+stage)
		if n < turns || sum < 0 || sum > 10*float64(n) {
			t.Errorf("stage %s: count %d sum %vs, want at least %d turns of under 10 s each", stage, n, sum, turns)
		}
	}
	if n, sum := f.hist("parley_turn_response_seconds", "agent=test"); n < turns || sum <= 0 || sum > 10*float64(n) {
		t.Errorf("response latency: count %d sum %vs", n, sum)
	}
	if got := f.value("parley_turns_completed_total", "agent=test", "interrupted=false"); got < turns {
		t.Errorf("turns completed %v, want %d", got, turns)
	}
	if n, sum := f.hist("parley_call_duration_seconds", "agent=test"); n != 1 || sum <= 0 || sum > 60 {
		t.Errorf("call duration: count %d sum %vs", n, sum)
	}
	if n, sum := f.hist("parley_call_frame_lateness_p99_seconds", "agent=test"); n != 1 || sum < 0 || sum > 1 {
		t.Errorf("frame lateness p99: count %d sum %vs", n, sum)
	}
	if n, sum := f.hist("parley_webhook_delivery_latency_seconds", "endpoint=crm"); n < int64(len(ids)) || sum <= 0 || sum > 30*float64(n) {
		t.Errorf("delivery latency: count %d sum %vs for %d events", n, sum, len(ids))
	}
	if n, _ := f.hist("parley_webhook_attempt_duration_seconds", "endpoint=crm"); n < int64(len(ids)) {
		t.Errorf("attempt durations: count %d for %d events", n, len(ids))
	}
}
