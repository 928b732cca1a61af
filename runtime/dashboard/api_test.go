package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

const testToken = "dashboard-test-token-0123456789"

type fixture struct {
	bus   *events.Bus
	rec   *Recorder
	srv   *httptest.Server
	calls []call.Info
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	f := &fixture{bus: events.NewBus(), rec: NewRecorder(0, 0)}
	f.bus.AddSink(f.rec)
	now := func() time.Time { return t0.Add(10 * time.Second) }
	api := NewAPI(Config{Token: token, Recorder: f.rec, Bus: f.bus, Calls: func() []call.Info { return f.calls },
		Agents: func() []string { return []string{"demo"} }, Logger: slog.New(slog.DiscardHandler), Now: now, KeepAlive: 50 * time.Millisecond})
	mux := http.NewServeMux()
	mux.Handle(APIPrefix, api)
	mux.Handle(PagePrefix, Page())
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() { f.bus.Close(); f.srv.Close() })
	return f
}

func (f *fixture) get(t *testing.T, path, token string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func TestAPIAuth(t *testing.T) {
	f := newFixture(t, testToken)
	cases := []struct {
		name, token string
		status      int
	}{
		{"no token", "", 401},
		{"wrong token", "nope", 401},
		{"prefix of the token", testToken[:8], 401},
		{"right token", testToken, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, b := f.get(t, APIPrefix+"calls", c.token)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, b)
			}
			if strings.Contains(string(b), testToken[:8]) {
				t.Fatalf("the answer echoes the token: %s", b)
			}
			if h.Get("Cache-Control") != "no-store" || h.Get("X-Request-Id") == "" {
				t.Fatalf("headers %v", h)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("no bearer challenge: %v", h)
			}
		})
	}
	// The token is never taken from the URL.
	if status, _, _ := f.get(t, APIPrefix+"calls?token="+testToken, ""); status != 401 {
		t.Fatalf("a token in the query was accepted (%d)", status)
	}
}

func TestAPIWithoutTokenIsOff(t *testing.T) {
	f := newFixture(t, "")
	for _, p := range []string{"calls", "info", "events", "calls/x"} {
		status, _, b := f.get(t, APIPrefix+p, "anything")
		var e errorBody
		if err := json.Unmarshal(b, &e); err != nil || status != 403 || e.Code != "admin_disabled" || !strings.Contains(e.Error, "--admin-token") {
			t.Fatalf("%s: %d %s, want 403 admin_disabled saying how to set a token", p, status, b)
		}
	}
	// The page itself is static and served anyway.
	if status, _, _ := f.get(t, PagePrefix, ""); status != 200 {
		t.Fatalf("page: %d", status)
	}
}

func TestAPICalls(t *testing.T) {
	f := newFixture(t, testToken)
	f.bus.Publish(started("c_live"))
	f.bus.Publish(ev("c_live", 2, events.CallStateChanged, map[string]any{"from": "connecting", "to": "greeting"}))
	f.bus.Publish(ev("c_live", 3, events.TurnCompleted, map[string]any{"turn": 1}))
	f.bus.Publish(started("c_done"))
	f.bus.Publish(ev("c_done", 2, events.CallEnded, map[string]any{"reason": "agent_hangup", "duration_ms": 4321.0}))
	f.calls = []call.Info{{ID: "c_live", AgentID: "demo", Transport: "websocket", From: "+15550123", State: "listening", Started: t0}}

	status, _, b := f.get(t, APIPrefix+"calls", testToken)
	if status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	var list CallList
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Live) != 1 || len(list.Recent) != 1 {
		t.Fatalf("lists %+v", list)
	}
	l := list.Live[0]
	// The server's state wins over the last state_changed event; the
	// recorder adds the turns and the agent's name.
	if l.ID != "c_live" || l.State != "listening" || l.Turns != 1 || l.AgentName != "Demo" || !l.Live || l.DurationMS != 10000 {
		t.Fatalf("live call %+v", l)
	}
	r := list.Recent[0]
	if r.ID != "c_done" || r.Live || r.State != "ended" || r.Reason != "agent_hangup" || r.DurationMS != 4321 || r.To != "+15550999" {
		t.Fatalf("recent call %+v", r)
	}

	status, _, b = f.get(t, APIPrefix+"calls/c_done", testToken)
	var d CallDetail
	if err := json.Unmarshal(b, &d); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, b, err)
	}
	if len(d.Events) != 2 || d.Ended == nil || d.LastSequence != 2 || d.Call.Reason != "agent_hangup" {
		t.Fatalf("detail %s", b)
	}
	if status, _, b := f.get(t, APIPrefix+"calls/nope", testToken); status != 404 || !strings.Contains(string(b), "unknown_call") {
		t.Fatalf("unknown call: %d %s", status, b)
	}
	if status, _, _ := f.get(t, APIPrefix+"nothing-here", testToken); status != 404 {
		t.Fatalf("unknown route: %d", status)
	}
}

// sseReader reads Server-Sent Events from a stream.
type sseReader struct {
	sc *bufio.Scanner
}

func (r *sseReader) next(t *testing.T) (name string, data string) {
	t.Helper()
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "data: "):
			data += line[6:]
		}
	}
	t.Fatalf("stream ended: %v", r.sc.Err())
	return "", ""
}

func (f *fixture) stream(t *testing.T, query string) (*sseReader, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+APIPrefix+"events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return &sseReader{sc: bufio.NewScanner(res.Body)}, res
}

func TestStreamOfOneCall(t *testing.T) {
	f := newFixture(t, testToken)
	f.bus.Publish(started("c1"))
	f.bus.Publish(ev("c1", 2, events.SpeechTranscribed, map[string]any{"text": "i would like to book"}))
	sr, res := f.stream(t, "?call=c1")
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("%d %s", res.StatusCode, ct)
	}
	name, data := sr.next(t)
	var d CallDetail
	if err := json.Unmarshal([]byte(data), &d); name != "snapshot" || err != nil || len(d.Conversation) != 1 || d.LastSequence != 2 {
		t.Fatalf("first message %s %s (%v)", name, data, err)
	}
	// Later events of this call follow; other calls' do not.
	f.bus.Publish(started("other"))
	f.bus.Publish(ev("c1", 3, events.AgentResponse, map[string]any{"text": "Which day?"}))
	f.bus.Publish(ev("c1", 4, events.CallEnded, map[string]any{"reason": "caller_hangup"}))
	for _, want := range []uint64{3, 4} {
		name, data := sr.next(t)
		var e struct {
			Type     string `json:"event_type"`
			CallID   string `json:"call_id"`
			Sequence uint64 `json:"sequence"`
		}
		if err := json.Unmarshal([]byte(data), &e); name != "event" || err != nil || e.CallID != "c1" || e.Sequence != want {
			t.Fatalf("got %s %s, want event %d of c1", name, data, want)
		}
	}
	// The bus closing (server shutdown) ends the stream with "closed".
	f.bus.Close()
	if name, _ := sr.next(t); name != "closed" {
		t.Fatalf("got %s, want closed", name)
	}
}

func TestStreamOfTheCallList(t *testing.T) {
	f := newFixture(t, testToken)
	sr, _ := f.stream(t, "")
	if name, _ := sr.next(t); name != "ready" {
		t.Fatalf("first message %s", name)
	}
	f.bus.Publish(started("c1"))
	f.bus.Publish(ev("c1", 2, events.SpeechPartial, map[string]any{"text": "chatter"}))
	f.bus.Publish(ev("c1", 3, events.CallEnded, nil))
	for _, want := range []string{events.CallStarted, events.CallEnded} {
		_, data := sr.next(t)
		if !strings.Contains(data, `"event_type":"`+want+`"`) {
			t.Fatalf("got %s, want %s (the list stream carries only list changes)", data, want)
		}
	}
	// Idle streams send keep-alive comments (the fixture's interval is 50ms).
	raw := &strings.Builder{}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(raw.String(), ": keep-alive") && time.Now().Before(deadline) && sr.sc.Scan() {
		raw.WriteString(sr.sc.Text())
	}
	if !strings.Contains(raw.String(), ": keep-alive") {
		t.Fatalf("no keep-alive; read %q", raw.String())
	}
}

func TestStreamErrors(t *testing.T) {
	f := newFixture(t, testToken)
	if status, _, b := f.get(t, APIPrefix+"events?call=nope", testToken); status != 404 {
		t.Fatalf("unknown call: %d %s", status, b)
	}
	if status, _, b := f.get(t, APIPrefix+"events?cal=x", testToken); status != 400 || !strings.Contains(string(b), "cal") {
		t.Fatalf("misspelt parameter: %d %s", status, b)
	}
}

func TestStreamLimit(t *testing.T) {
	f := newFixture(t, testToken)
	var open []*http.Response
	for range 32 {
		_, res := f.stream(t, "")
		if res.StatusCode != 200 {
			t.Fatalf("stream %d refused: %d", len(open), res.StatusCode)
		}
		open = append(open, res)
	}
	if status, _, b := f.get(t, APIPrefix+"events", testToken); status != 429 {
		t.Fatalf("stream 33: %d %s, want 429", status, b)
	}
	open[0].Body.Close()
}

func TestPage(t *testing.T) {
	f := newFixture(t, testToken)
	status, h, b := f.get(t, PagePrefix, "")
	if status != 200 || !strings.Contains(string(b), `<script type="module" src="app.js">`) {
		t.Fatalf("index: %d %s", status, b)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	for _, name := range []string{"app.js", "api.js", "util.js", "calls.js", "call.js", "webhooks.js", "style.css"} {
		status, h, b := f.get(t, PagePrefix+name, "")
		if status != 200 || len(b) == 0 {
			t.Fatalf("%s: %d", name, status)
		}
		ct := h.Get("Content-Type")
		if (strings.HasSuffix(name, ".js") && !strings.HasPrefix(ct, "text/javascript")) || (strings.HasSuffix(name, ".css") && !strings.HasPrefix(ct, "text/css")) {
			t.Fatalf("%s served as %q", name, ct)
		}
	}
}

// TestAssetsAreSelfContained keeps the page working offline and the token out
// of URLs and HTML: no remote URL, no EventSource (which cannot send the
// header), no innerHTML.
func TestAssetsAreSelfContained(t *testing.T) {
	entries, err := static.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := static.ReadFile("static/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "EventSource(", "innerHTML", "token=", "localStorage"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s contains %q", e.Name(), bad)
			}
		}
	}
}

func TestAPIInfo(t *testing.T) {
	f := newFixture(t, testToken)
	status, _, b := f.get(t, APIPrefix+"info", testToken)
	var info Info
	if err := json.Unmarshal(b, &info); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, b, err)
	}
	if len(info.Agents) != 1 || info.Agents[0] != "demo" || info.Webhooks || info.RecentCalls != DefaultRecentCalls || info.CallEvents != DefaultCallEvents {
		t.Fatalf("info %+v", info)
	}
}
