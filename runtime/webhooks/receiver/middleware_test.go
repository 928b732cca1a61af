package receiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func serve(h http.Handler, r *http.Request) answer {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{status: w.Code, header: w.Header()}
	_ = json.Unmarshal(w.Body.Bytes(), &a.body)
	return a
}

func TestMiddlewarePassesTheDelivery(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	body := event(t, "evt_1", "call_1", 7, "agent.response", map[string]any{"text": "Sure."})
	var got Delivery
	var raw []byte
	h := Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ok bool
		if got, ok = FromContext(r.Context()); !ok {
			t.Error("no delivery in the context")
		}
		raw, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	if a := serve(h, s.request("evt_1", clk.Now(), body)); a.status != 204 {
		t.Fatalf("status = %d", a.status)
	}
	if got.Event.Sequence != 7 || got.Event.EventType != "agent.response" || !bytes.Equal(raw, body) {
		t.Fatalf("delivery = %+v, body %q", got, raw)
	}
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("FromContext on a bare context")
	}
}

func TestMiddlewareRejections(t *testing.T) {
	s, other, clk := newSender(t, 1), newSender(t, 1), newClock()
	var logs bytes.Buffer
	v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithMaxBodyBytes(2048),
		WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	var calls atomic.Int32
	h := Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)

	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
		msg    string
	}{
		{"unsigned", httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)), 400, "missing_headers",
			"missing webhook headers: webhook-id, webhook-timestamp, webhook-signature"},
		{"wrong secret", other.request("evt_1", clk.Now(), body), 401, "bad_signature",
			"webhook-signature does not match any configured secret"},
		{"stale", s.request("evt_1", clk.Now().Add(-time.Hour), body), 401, "timestamp_too_old", "1h0m0s behind"},
		{"too large", s.request("evt_1", clk.Now(), bytes.Repeat([]byte("x"), 4096)), 413, "body_too_large", "over the 2048-byte limit"},
		{"not an envelope", s.request("evt_1", clk.Now(), []byte(`[]`)), 400, "invalid_envelope", "not a Parley event envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := serve(h, tt.req)
			if a.status != tt.status || a.body["code"] != tt.code {
				t.Fatalf("answer = %d %v, want %d %s", a.status, a.body, tt.status, tt.code)
			}
			if msg, _ := a.body["error"].(string); !strings.Contains(msg, tt.msg) {
				t.Fatalf("error = %q, want it to contain %q", msg, tt.msg)
			}
			if a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", a.header.Get("Content-Type"))
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("next was called %d times for rejected requests", calls.Load())
	}
	if !strings.Contains(logs.String(), `"msg":"webhook rejected"`) || !strings.Contains(logs.String(), "2 v1 signatures") && !strings.Contains(logs.String(), "1 v1 signatures") {
		t.Fatalf("logs lack the detail: %s", logs.String())
	}
	if a := serve(h, s.request("evt_1", clk.Now(), body)); a.status != 200 || calls.Load() != 1 {
		t.Fatalf("genuine request: %d, %d calls", a.status, calls.Load())
	}
}

func TestMiddlewareReplayAndRetry(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	var calls atomic.Int32
	fail := atomic.Bool{}
	fail.Store(true)
	h := Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail.Load() {
			http.Error(w, "database down", http.StatusServiceUnavailable)
		}
	}))
	// First attempt fails: Parley retries with a fresh timestamp, and the retry
	// must be processed.
	if a := serve(h, s.request("evt_1", clk.Now(), body)); a.status != 503 {
		t.Fatalf("first attempt: %d", a.status)
	}
	clk.Advance(5 * time.Second)
	fail.Store(false)
	if a := serve(h, s.request("evt_1", clk.Now(), body)); a.status != 200 || calls.Load() != 2 {
		t.Fatalf("retry: %d, %d calls", a.status, calls.Load())
	}
	// Parley never saw that 200 and retries again; or someone replays the
	// captured request. Either way: acknowledged, not processed.
	for _, r := range []*http.Request{s.request("evt_1", clk.Now().Add(time.Second), body), s.request("evt_1", clk.Now(), body)} {
		a := serve(h, r)
		if a.status != 200 || a.body["status"] != "duplicate" || a.body["webhook_id"] != "evt_1" {
			t.Fatalf("duplicate: %d %v", a.status, a.body)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("duplicates reached the handler: %d calls", calls.Load())
	}
}

func TestMiddlewareReplayStatus409(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithReplayStatus(http.StatusConflict))
	h := Middleware(v, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	serve(h, s.request("evt_1", clk.Now(), body))
	a := serve(h, s.request("evt_1", clk.Now(), body))
	if a.status != 409 || a.body["code"] != "replay" {
		t.Fatalf("replay: %d %v", a.status, a.body)
	}
}

func TestMiddlewarePanicReleases(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	panicky := Middleware(v, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("bug") }))
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		serve(panicky, s.request("evt_1", clk.Now(), body))
	}()
	ok := Middleware(v, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if a := serve(ok, s.request("evt_1", clk.Now(), body)); a.status != 200 || a.body["status"] == "duplicate" {
		t.Fatalf("retry after a panic: %d %v", a.status, a.body)
	}
}

// TestMiddlewareInFlight runs over a real server: a retry that overtakes a slow
// handler gets 409 and Retry-After, and once the first finishes, a duplicate.
func TestMiddlewareInFlight(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		fmt.Fprintln(w, `{"ok":true}`)
	})))
	defer srv.Close()
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	post := func() *http.Response {
		r := s.request("evt_1", clk.Now(), body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header = r.Header
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return nil
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	first := make(chan *http.Response)
	go func() { first <- post() }()
	<-entered
	if resp := post(); resp == nil || resp.StatusCode != 409 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("overtaking retry: %+v", resp)
	}
	close(release)
	if resp := <-first; resp == nil || resp.StatusCode != 200 {
		t.Fatalf("first: %+v", resp)
	}
	if resp := post(); resp == nil || resp.StatusCode != 200 || calls.Load() != 1 {
		t.Fatalf("after the first finished: %+v, %d calls", resp, calls.Load())
	}
}

// TestMiddlewareConcurrent: many deliveries, each sent several times at once;
// every event is processed exactly once.
func TestMiddlewareConcurrent(t *testing.T) {
	s, clk := newSender(t, 2), newClock()
	v := mustVerifier(t, s.encoded[1:], WithClock(clk.Now))
	var mu sync.Mutex
	seen := map[string]int{}
	h := Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := FromContext(r.Context())
		mu.Lock()
		seen[d.ID]++
		mu.Unlock()
	}))
	const events, copies = 200, 4
	var wg sync.WaitGroup
	for i := range events {
		id := fmt.Sprintf("evt_%03d", i)
		body := event(t, id, "call_1", uint64(i+1), "speech.started", nil)
		for range copies {
			wg.Go(func() {
				for {
					a := serve(h, s.request(id, clk.Now(), body))
					if a.status == 409 { // in flight elsewhere: retry, as Parley would
						continue
					}
					if a.status != 200 {
						t.Errorf("%s: %d %v", id, a.status, a.body)
					}
					return
				}
			})
		}
	}
	wg.Wait()
	if len(seen) != events {
		t.Fatalf("%d events processed, want %d", len(seen), events)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s processed %d times", id, n)
		}
	}
}

func TestStatusRecorderDefaults(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	// A real server: httptest.ResponseRecorder does not treat 1xx as interim.
	srv := httptest.NewServer(Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints) // informational, not the answer
		w.WriteHeader(http.StatusAccepted)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the recorder: %v", err)
		}
	})))
	defer srv.Close()
	post := func() (int, string) {
		r := s.request("evt_1", clk.Now(), body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header = r.Header
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post(); code != 202 {
		t.Fatalf("status %d", code)
	}
	if code, b := post(); code != 200 || !strings.Contains(b, "duplicate") {
		t.Fatalf("a 202 should count as processed: %d %s", code, b)
	}
}
