package server

import (
	"net/http"

	"github.com/parley-voice/parley/media/native"
	"net/http/httptest"
	"testing"
	"time"
)

func TestSourceLimiter(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewSourceLimiter(2, 3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("10.0.0.1"); !ok {
			t.Fatalf("burst request %d refused", i)
		}
	}
	ok, wait := l.Allow("10.0.0.1")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: ok=%v wait=%s, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.Allow("10.0.0.2"); !ok {
		t.Fatal("another source was refused")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("10.0.0.1"); !ok {
		t.Fatal("refused after the wait")
	}
	now = now.Add(2 * time.Minute)
	l.Allow("10.0.0.3")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after the idle ones refilled, want 1", len(l.buckets))
	}

	h := l.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	codes := map[int]int{}
	for range 5 {
		req := httptest.NewRequest("GET", "/v1/ws", nil)
		req.RemoteAddr = "[2001:db8::1]:5000"
		req.Header.Set("X-Forwarded-For", "1.2.3.4") // ignored
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		codes[rec.Code]++
		if rec.Code == 429 && rec.Header().Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[204] != 3 || codes[429] != 2 {
		t.Fatalf("answers %v, want 3×204 then 2×429", codes)
	}
	// Loopback (a local reverse proxy) is not limited.
	for range 10 {
		req := httptest.NewRequest("GET", "/v1/ws", nil)
		req.RemoteAddr = "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 429 {
			t.Fatal("loopback peer limited")
		}
	}
	// The same /64 shares a bucket.
	req := httptest.NewRequest("GET", "/v1/ws", nil)
	req.RemoteAddr = "[2001:db8::ffff]:1"
	if sourceOf(req) != "2001:db8::/64" {
		t.Fatalf("source %q", sourceOf(req))
	}
}

// A flood of connection attempts from one address is refused with 429 while
// another address still gets through, on the server's own routes.
func TestServerLimitsNewConnectionsPerSource(t *testing.T) {
	s := &Server{cfg: Config{ConnRate: 1, ConnBurst: 5}}
	s.ws = &native.Handler{} // requests below are not WebSocket upgrades: it answers 400
	h := s.Handler()
	send := func(addr string) int {
		req := httptest.NewRequest("GET", "/v1/ws", nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	refused := 0
	for range 30 {
		if send("203.0.113.7:40000") == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 25 {
		t.Fatalf("%d of 30 flood attempts refused, want 25 (burst 5)", refused)
	}
	if code := send("198.51.100.2:40000"); code == http.StatusTooManyRequests {
		t.Fatalf("another source got %d during the flood", code)
	}
}
