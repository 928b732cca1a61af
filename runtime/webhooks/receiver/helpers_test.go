package receiver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 27, 0, 20, 25, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sender signs requests the way Parley's dispatcher does.
type sender struct {
	t       testing.TB
	secrets []signature.Secret
	encoded []string
}

func newSender(t testing.TB, n int) *sender {
	t.Helper()
	s := &sender{t: t}
	for range n {
		sec, err := signature.GenerateSecret()
		if err != nil {
			t.Fatal(err)
		}
		s.secrets = append(s.secrets, sec)
		s.encoded = append(s.encoded, sec.Encode())
	}
	return s
}

// event returns the JSON of a real envelope, as runtime/events encodes it.
func event(t testing.TB, id, callID string, seq uint64, typ string, payload map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(events.Event{
		Type: typ, ID: id, APIVersion: events.APIVersion, CallID: callID, AgentID: "demo",
		Sequence: seq, Timestamp: time.Date(2026, 11, 27, 0, 20, 25, 136_000_000, time.UTC), Payload: payload,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request returns a signed POST of body with webhook-id id at time ts.
func (s *sender) request(id string, ts time.Time, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/parley", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	signature.SetHeaders(r.Header, s.secrets, id, ts, body)
	return r
}

func mustVerifier(t testing.TB, secrets []string, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(secrets, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
