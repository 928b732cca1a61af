// Package whtest has test helpers for the webhook dispatcher: a clock moved
// by hand, a recording receiver that verifies signatures, and event makers.
package whtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// Clock is a webhooks.Clock that moves only when told to.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock at 2026-11-01 10:00 UTC.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After fires once the clock has been advanced by d.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// Waiters returns the number of pending timers.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Secret is the signing secret the test endpoints and Receiver share.
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Receipt is one request the receiver accepted.
type Receipt struct {
	EventID  string
	Type     string
	CallID   string
	Sequence uint64
	At       time.Time
	Body     []byte
}

// Receiver is an HTTP endpoint that verifies each request's signature and
// records it. Respond, when set, chooses the answer (status, and a delay
// before it); the default is 204 at once.
type Receiver struct {
	*httptest.Server
	Respond func(r *Receipt, n int) (status int, delay time.Duration)
	// RetryAfter, when set, is sent as Retry-After with every answer that is
	// not 2xx.
	RetryAfter atomic.Value // string

	mu       sync.Mutex
	byID     map[string]int // event id → times received
	seen     []string       // event id of every signed request, answered or not
	order    []Receipt
	requests atomic.Int64
	bad      atomic.Int64
	verify   []signature.Secret
}

// NewReceiver starts a receiver on loopback (plain HTTP); Close it.
func NewReceiver(t testing.TB) *Receiver {
	secrets, err := signature.ParseSecrets([]string{Secret})
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{byID: map[string]int{}, verify: secrets}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	n := r.requests.Add(1)
	body, err := io.ReadAll(io.LimitReader(req.Body, 2<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	id := req.Header.Get("webhook-id")
	// Signatures only: the dispatcher's clock may be a test clock, and the
	// timestamp tolerance is tested in the signature package.
	ts, _ := signature.ParseTimestamp(req.Header.Get("webhook-timestamp"))
	if err := signature.Verify(r.verify, req.Header, body, ts, 0); err != nil {
		r.bad.Add(1)
		http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	var env struct {
		Type     string `json:"event_type"`
		ID       string `json:"event_id"`
		CallID   string `json:"call_id"`
		Sequence uint64 `json:"sequence"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.ID != id {
		r.bad.Add(1)
		http.Error(w, "bad envelope", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.seen = append(r.seen, id)
	r.mu.Unlock()
	rc := Receipt{EventID: id, Type: env.Type, CallID: env.CallID, Sequence: env.Sequence, At: time.Now(), Body: body}
	status, delay := http.StatusNoContent, time.Duration(0)
	r.mu.Lock()
	respond := r.Respond
	r.mu.Unlock()
	if respond != nil {
		status, delay = respond(&rc, int(n))
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	if status >= 200 && status < 300 {
		r.mu.Lock()
		r.byID[id]++
		r.order = append(r.order, rc)
		r.mu.Unlock()
	}
	if ra, _ := r.RetryAfter.Load().(string); ra != "" && (status < 200 || status >= 300) {
		w.Header().Set("Retry-After", ra)
	}
	w.WriteHeader(status)
}

// SetRespond replaces Respond while requests may be arriving.
func (r *Receiver) SetRespond(f func(r *Receipt, n int) (status int, delay time.Duration)) {
	r.mu.Lock()
	r.Respond = f
	r.mu.Unlock()
}

// Distinct is how many different event ids were accepted.
func (r *Receiver) Distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

// Duplicates is how many accepted requests repeated an event id.
func (r *Receiver) Duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.order) - len(r.byID)
}

// Has reports whether the event id was accepted.
func (r *Receiver) Has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id] > 0
}

// Receipts returns the accepted requests in arrival order.
func (r *Receiver) Receipts() []Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.order)
}

// Seen returns the event id of every correctly signed request, in arrival
// order, whatever the answer.
func (r *Receiver) Seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// Requests is how many requests arrived, accepted or not.
func (r *Receiver) Requests() int { return int(r.requests.Load()) }

// BadSignatures is how many requests failed verification.
func (r *Receiver) BadSignatures() int { return int(r.bad.Load()) }

// WaitDistinct waits until n distinct events were accepted, failing the test
// after timeout with what arrived.
func (r *Receiver) WaitDistinct(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for r.Distinct() < n {
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d of %d distinct events within %s (%d requests, %d bad signatures)",
				r.Distinct(), n, timeout, r.Requests(), r.BadSignatures())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Event makes the i-th test event of a call.
func Event(callID string, seq uint64) *events.Event {
	return &events.Event{
		Type: events.SpeechTranscribed, ID: fmt.Sprintf("evt_%s_%06d", callID, seq), APIVersion: events.APIVersion,
		CallID: callID, AgentID: "test-agent", Sequence: seq, Timestamp: time.Now(),
		Payload: map[string]any{"text": "I would like to book an appointment", "final": true},
	}
}
