package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

func TestVerifyDecodesTheEnvelope(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	body := event(t, "evt_01", "call_01", 14, "speech.transcribed", map[string]any{"text": "book an appointment", "confidence": 0.88})

	d, err := v.Verify(s.request("evt_01", clk.Now(), body))
	if err != nil {
		t.Fatal(err)
	}
	e := d.Event
	if d.ID != "evt_01" || !d.Timestamp.Equal(clk.Now()) || !bytes.Equal(d.Body, body) {
		t.Fatalf("delivery = %+v", d)
	}
	if e.EventType != "speech.transcribed" || e.EventID != "evt_01" || e.APIVersion != "2026-11-01" ||
		e.CallID != "call_01" || e.AgentID != "demo" || e.Sequence != 14 ||
		!e.Timestamp.Equal(time.Date(2026, 11, 27, 0, 20, 25, 136_000_000, time.UTC)) {
		t.Fatalf("envelope = %+v", e)
	}
	var p struct {
		Text       string  `json:"text"`
		Confidence float64 `json:"confidence"`
	}
	if err := e.DecodePayload(&p); err != nil || p.Text != "book an appointment" || p.Confidence != 0.88 {
		t.Fatalf("payload = %+v, %v", p, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	s, other, clk := newSender(t, 1), newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithMaxBodyBytes(1024))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	now := clk.Now()

	tests := []struct {
		name   string
		req    func() *http.Request
		want   error
		status int
	}{
		{"unsigned", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		}, ErrMissingHeaders, 400},
		{"other secret", func() *http.Request { return other.request("evt_1", now, body) }, ErrNoMatchingSignature, 401},
		{"tampered body", func() *http.Request {
			r := s.request("evt_1", now, body)
			r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("call_1"), []byte("call_2"), 1)))
			return r
		}, ErrNoMatchingSignature, 401},
		{"old", func() *http.Request { return s.request("evt_1", now.Add(-6*time.Minute), body) }, ErrTimestampTooOld, 401},
		{"future", func() *http.Request { return s.request("evt_1", now.Add(6*time.Minute), body) }, ErrTimestampTooNew, 401},
		{"bad timestamp", func() *http.Request {
			r := s.request("evt_1", now, body)
			r.Header.Set(signature.HeaderTimestamp, "yesterday")
			return r
		}, ErrBadTimestamp, 400},
		{"content-length too large", func() *http.Request {
			big := bytes.Repeat([]byte(" "), 1025)
			return s.request("evt_1", now, big)
		}, ErrBodyTooLarge, 413},
		{"chunked too large", func() *http.Request {
			big := bytes.Repeat([]byte(" "), 5000)
			r := s.request("evt_1", now, big)
			r.ContentLength = -1
			r.Body = io.NopCloser(bytes.NewReader(big))
			return r
		}, ErrBodyTooLarge, 413},
		{"not an envelope", func() *http.Request { return s.request("evt_1", now, []byte(`{"test": 2432232314}`)) }, ErrInvalidEnvelope, 400},
		{"not JSON", func() *http.Request { return s.request("evt_1", now, []byte(`hello`)) }, ErrInvalidEnvelope, 400},
		{"broken body", func() *http.Request {
			r := s.request("evt_1", now, body)
			r.ContentLength = -1
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:5]), errReader{}))
			return r
		}, ErrBodyRead, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := v.Verify(tt.req())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if d.ID != "" {
				t.Fatalf("delivery filled in on error: %+v", d)
			}
			if got := v.StatusCode(err); got != tt.status {
				t.Fatalf("status = %d, want %d", got, tt.status)
			}
		})
	}
	// None of the rejections claimed the id: the genuine request goes through.
	if _, err := v.Verify(s.request("evt_1", now, body)); err != nil {
		t.Fatalf("genuine request after rejections: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestBodyExactlyAtLimit(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithMaxBodyBytes(int64(len(body))))
	r := s.request("evt_1", clk.Now(), body)
	r.ContentLength = -1 // make it read, not trust the header
	if _, err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
}

func TestRotationOnTheReceiver(t *testing.T) {
	oldS, newS, clk := newSender(t, 1), newSender(t, 1), newClock()
	both := &sender{t: t, secrets: append(append([]signature.Secret{}, newS.secrets...), oldS.secrets...)}
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	for name, c := range map[string]struct {
		receiver []string
		sender   *sender
	}{
		"receiver old, Parley signs with both": {oldS.encoded, both},
		"receiver new, Parley signs with both": {newS.encoded, both},
		"receiver both, Parley signs with new": {append(append([]string{}, oldS.encoded...), newS.encoded...), newS},
	} {
		v := mustVerifier(t, c.receiver, WithClock(clk.Now))
		if _, err := v.Verify(c.sender.request("evt_1", clk.Now(), body)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestDedupeContract(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	send := func() (Delivery, error) { return v.Verify(s.request("evt_1", clk.Now(), body)) }

	d, err := send()
	if err != nil {
		t.Fatal(err)
	}
	// While the first is being processed, a retry is told to come back.
	if _, err := send(); !errors.Is(err, ErrInFlight) || v.StatusCode(err) != 409 {
		t.Fatalf("concurrent duplicate: %v", err)
	}
	// Processing failed: released, Parley's retry is processed.
	v.Release(d.ID)
	if _, err := send(); err != nil {
		t.Fatalf("retry after a failure: %v", err)
	}
	v.Done("evt_1")
	clk.Advance(time.Minute)
	d, err = send()
	if !errors.Is(err, ErrReplay) || v.StatusCode(err) != 200 {
		t.Fatalf("after Done: %v", err)
	}
	if d.ID != "evt_1" || d.Event.CallID != "call_1" {
		t.Fatalf("a replay's delivery should be filled in: %+v", d)
	}
	// Release does not undo Done.
	v.Release("evt_1")
	if _, err := send(); !errors.Is(err, ErrReplay) {
		t.Fatalf("after Release of a done id: %v", err)
	}
	// After the TTL, the id is forgotten (Parley's retry hours later is processed,
	// which is why processing must be idempotent too).
	clk.Advance(DefaultDedupeTTL)
	if _, err := send(); err != nil {
		t.Fatalf("after the TTL: %v", err)
	}
}

func TestClaimExpires(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithClaimTimeout(30*time.Second))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	first, err := v.Verify(s.request("evt_1", clk.Now(), body))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(31 * time.Second) // the first handler neither Done nor Release
	second, err := v.Verify(s.request("evt_1", clk.Now(), body))
	if err != nil {
		t.Fatalf("after the claim expired: %v", err)
	}
	// The first handler finally gives up: its stale release must not free the
	// second's claim.
	v.release(first)
	if _, err := v.Verify(s.request("evt_1", clk.Now(), body)); !errors.Is(err, ErrInFlight) {
		t.Fatalf("stale release freed a newer claim: %v", err)
	}
	v.release(second)
	if _, err := v.Verify(s.request("evt_1", clk.Now(), body)); err != nil {
		t.Fatal(err)
	}
}

func TestDedupeCapacity(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithDedupeCapacity(2))
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		if _, err := v.Verify(s.request(id, clk.Now(), event(t, id, "c", 1, "call.started", nil))); err != nil {
			t.Fatal(err)
		}
		v.Done(id)
	}
	if n := v.seen.len(); n != 2 {
		t.Fatalf("cache holds %d ids, want 2", n)
	}
	if _, err := v.Verify(s.request("evt_3", clk.Now(), event(t, "evt_3", "c", 1, "call.started", nil))); !errors.Is(err, ErrReplay) {
		t.Fatalf("newest id: %v", err)
	}
	if _, err := v.Verify(s.request("evt_1", clk.Now(), event(t, "evt_1", "c", 1, "call.started", nil))); err != nil {
		t.Fatalf("oldest id should have been evicted: %v", err)
	}
}

func TestDedupeSweepsExpired(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	for i := range 100 {
		id := "evt_" + strings.Repeat("x", i)
		v.Done(id)
	}
	clk.Advance(DefaultDedupeTTL + time.Second)
	for i := range 10 {
		v.Done("new_" + strings.Repeat("y", i))
	}
	if n := v.seen.len(); n != 10 {
		t.Fatalf("%d ids held, want the 10 fresh ones: expired ids are not swept", n)
	}
}

func TestWithoutDedupe(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now), WithoutDedupe())
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	for range 3 {
		if _, err := v.Verify(s.request("evt_1", clk.Now(), body)); err != nil {
			t.Fatal(err)
		}
		v.Done("evt_1")
	}
}

func TestNewVerifierErrors(t *testing.T) {
	good := newSender(t, 1).encoded[0]
	tests := []struct {
		name    string
		secrets []string
		opts    []Option
		want    string
	}{
		{"no secrets", nil, nil, "no webhook secret configured"},
		{"bad second secret", []string{good, "hunter2"}, nil, `secret 2 of 2: invalid webhook secret: missing the "whsec_" prefix`},
		{"short secret", []string{"whsec_c2hvcnQ="}, nil, "5 bytes is too short"},
		{"zero tolerance", []string{good}, []Option{WithTolerance(0)}, "tolerance must be positive"},
		{"zero body", []string{good}, []Option{WithMaxBodyBytes(0)}, "max body bytes must be positive"},
		{"zero TTL", []string{good}, []Option{WithDedupeTTL(0)}, "use WithoutDedupe"},
		{"zero capacity", []string{good}, []Option{WithDedupeCapacity(0)}, "capacity must be positive"},
		{"zero claim", []string{good}, []Option{WithClaimTimeout(0)}, "claim timeout must be positive"},
		{"nil clock", []string{good}, []Option{WithClock(nil)}, "clock must not be nil"},
		{"bad replay status", []string{good}, []Option{WithReplayStatus(42)}, "not an HTTP status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.secrets, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
	if _, err := NewVerifier([]string{good}, WithoutDedupe(), WithDedupeTTL(0)); err != nil {
		t.Fatalf("TTL is irrelevant without dedupe: %v", err)
	}
}

// TestSpecSecretAndTolerance: the spec's own secret works here, and the spec's
// reference message, though authentic, is not a Parley envelope.
func TestSpecSecretAndTolerance(t *testing.T) {
	at := time.Unix(1614265330, 0)
	v := mustVerifier(t, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, WithClock(func() time.Time { return at.Add(4 * time.Minute) }))
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"test": 2432232314}`))
	r.Header.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	r.Header.Set("webhook-timestamp", "1614265330")
	r.Header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	if _, err := v.Verify(r); !errors.Is(err, ErrInvalidEnvelope) {
		t.Fatalf("err = %v, want ErrInvalidEnvelope (signature accepted, body not an envelope)", err)
	}
}

func TestEnvelopeIgnoresUnknownFields(t *testing.T) {
	var m map[string]any
	body := event(t, "evt_1", "call_1", 3, "call.ended", map[string]any{"reason": "caller_hangup"})
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["added_in_a_later_version"] = map[string]any{"x": 1}
	body, _ = json.Marshal(m)
	e, err := decodeEnvelope(body)
	if err != nil || e.Sequence != 3 || e.EventType != "call.ended" {
		t.Fatalf("decode = %+v, %v", e, err)
	}
	if err := (EventEnvelope{EventID: "e", EventType: "t"}).DecodePayload(&m); err == nil {
		t.Fatal("DecodePayload of a missing payload should fail")
	}
}

// countingReader notes whether anyone read it.
type countingReader struct{ read bool }

func (c *countingReader) Read(p []byte) (int, error) { c.read = true; return 0, io.EOF }

func TestHeadersCheckedBeforeTheBodyIsRead(t *testing.T) {
	s, clk := newSender(t, 1), newClock()
	v := mustVerifier(t, s.encoded, WithClock(clk.Now))
	body := event(t, "evt_1", "call_1", 1, "call.started", nil)
	for name, mutate := range map[string]func(r *http.Request){
		"unsigned": func(r *http.Request) { r.Header = http.Header{} },
		"stale":    func(r *http.Request) { r.Header.Set(signature.HeaderTimestamp, "1000") },
		"garbage":  func(r *http.Request) { r.Header.Set(signature.HeaderTimestamp, "soon") },
		"no id":    func(r *http.Request) { r.Header.Del(signature.HeaderID) },
	} {
		r := s.request("evt_1", clk.Now(), body)
		mutate(r)
		cr := &countingReader{}
		r.Body = io.NopCloser(cr)
		if _, err := v.Verify(r); err == nil || cr.read {
			t.Errorf("%s: err = %v, body read = %v", name, err, cr.read)
		}
	}
}
