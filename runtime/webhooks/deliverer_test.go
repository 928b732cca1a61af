package webhooks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// received is one request as a test receiver saw it.
type received struct {
	header http.Header
	body   []byte
	path   string
}

// receiver is a real HTTP server on loopback that records requests and
// answers with respond.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	conns    atomic.Int32
}

func newReceiver(t *testing.T, useTLS bool, respond http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, received{req.Header.Clone(), body, req.URL.Path})
		r.mu.Unlock()
		if respond != nil {
			respond(w, req)
		}
	}))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if useTLS {
		r.TLS = &tls.Config{Certificates: []tls.Certificate{localhostCert(t)}}
		r.StartTLS()
	} else {
		r.Start()
	}
	t.Cleanup(r.Close)
	return r
}

// localhostCert returns a self-signed certificate for localhost, 127.0.0.1
// and ::1 (httptest's own covers example.com, not localhost).
func localhostCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "parley webhooks test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

func testMessage(t testing.TB) *Message {
	t.Helper()
	m, err := NewMessage(&events.Event{
		Type: events.SpeechTranscribed, ID: "evt_01JH7Q3ZK8", APIVersion: events.APIVersion,
		CallID: "call_01JH7Q3Z", AgentID: "support", Sequence: 42,
		Timestamp: time.Date(2026, 1, 21, 10, 15, 0, 123e6, time.UTC),
		Payload:   map[string]any{"text": "I want to reschedule my appointment", "confidence": 0.93, "is_final": true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newDeliverer builds a deliverer for url with a fresh secret, plain http to
// loopback allowed; modify adjusts the endpoint.
func newDeliverer(t *testing.T, url string, opts Options, modify ...func(*Endpoint)) (*Deliverer, *Endpoint) {
	t.Helper()
	ep := &Endpoint{ID: "test", URL: url, Secrets: []string{newSecret(t)}, AllowInsecureLoopback: true}
	for _, m := range modify {
		m(ep)
	}
	d, err := NewDeliverer(*ep, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, ep
}

// checkNoLeak fails if an attempt's error or snippet shows a secret or a
// configured header value.
func checkNoLeak(t *testing.T, a Attempt, ep *Endpoint) {
	t.Helper()
	for _, s := range ep.Secrets {
		if strings.Contains(a.Err, s) || strings.Contains(a.Err, strings.TrimPrefix(s, "whsec_")) {
			t.Errorf("attempt error reveals a secret: %s", a.Err)
		}
	}
	for _, v := range ep.Headers {
		if strings.Contains(a.Err, v) {
			t.Errorf("attempt error reveals a header value: %s", a.Err)
		}
	}
}

func TestDeliverSigned(t *testing.T) {
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	old, cur := newSecret(t), newSecret(t)
	clk := newFakeClock()
	d, ep := newDeliverer(t, rcv.URL+"/hooks/parley?token=q", Options{Now: clk.Now}, func(e *Endpoint) {
		e.Secrets = []string{old, cur} // rotation: both sign
		e.Headers = map[string]string{"Authorization": "Bearer tok-123", "X-Tenant": "acme"}
	})
	m := testMessage(t)
	a := d.Deliver(context.Background(), m)
	if a.Outcome != OutcomeDelivered || a.Status != 204 || a.Err != "" || a.Latency <= 0 || !a.At.Equal(clk.Now()) {
		t.Fatalf("attempt %+v", a)
	}
	checkNoLeak(t, a, ep)
	reqs := rcv.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if string(r.body) != string(m.Body) || r.path != "/hooks/parley" {
		t.Errorf("body %s, path %s", r.body, r.path)
	}
	for k, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "Parley-Webhooks/1",
		"Webhook-Id":        "evt_01JH7Q3ZK8",
		"Webhook-Timestamp": strconv.FormatInt(clk.Now().Unix(), 10),
		"Authorization":     "Bearer tok-123",
		"X-Tenant":          "acme",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if sigs := strings.Fields(r.header.Get("Webhook-Signature")); len(sigs) != 2 {
		t.Errorf("webhook-signature = %q, want one per secret", sigs)
	}
	// A receiver holding either secret verifies the request.
	for _, s := range []string{old, cur} {
		if err := signature.Verify(parseSecrets(t, s), r.header, r.body, clk.Now(), 0); err != nil {
			t.Errorf("verify: %v", err)
		}
	}
	if err := signature.Verify(parseSecrets(t, newSecret(t)), r.header, r.body, clk.Now(), 0); err == nil {
		t.Error("a foreign secret verified the request")
	}
}

func TestDeliverFreshTimestamp(t *testing.T) {
	status := atomic.Int32{}
	status.Store(503)
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) })
	clk := newFakeClock()
	d, ep := newDeliverer(t, rcv.URL, Options{Now: clk.Now})
	m := testMessage(t)
	first := d.Deliver(context.Background(), m)
	if first.Outcome != OutcomeRetry || first.Status != 503 || !strings.Contains(first.Err, "503") {
		t.Fatalf("first attempt %+v", first)
	}
	at, ok := NextAttempt(*ep.WithDefaults().Retry, 1, first, clk.Now(), fixed(0.5))
	if !ok {
		t.Fatal("no retry")
	}
	clk.Advance(at.Sub(clk.Now()))
	status.Store(200)
	second := d.Deliver(context.Background(), m)
	if second.Outcome != OutcomeDelivered {
		t.Fatalf("second attempt %+v", second)
	}
	reqs := rcv.got()
	ts1, ts2 := reqs[0].header.Get("Webhook-Timestamp"), reqs[1].header.Get("Webhook-Timestamp")
	if ts1 == ts2 || ts2 != strconv.FormatInt(clk.Now().Unix(), 10) {
		t.Errorf("timestamps %s then %s; want a fresh one, %d", ts1, ts2, clk.Now().Unix())
	}
	if reqs[0].header.Get("Webhook-Id") != reqs[1].header.Get("Webhook-Id") {
		t.Error("webhook-id changed between attempts")
	}
	if reqs[0].header.Get("Webhook-Signature") == reqs[1].header.Get("Webhook-Signature") {
		t.Error("signature not recomputed for the new timestamp")
	}
	secrets := parseSecrets(t, ep.Secrets...)
	if err := signature.Verify(secrets, reqs[1].header, reqs[1].body, clk.Now(), 0); err != nil {
		t.Errorf("retry does not verify: %v", err)
	}
	// The first attempt's signature is now outside the ±5 min tolerance.
	if err := signature.Verify(secrets, reqs[0].header, reqs[0].body, clk.Now().Add(5*time.Minute), 0); !errors.Is(err, signature.ErrTimestampTooOld) {
		t.Errorf("stale attempt verify = %v", err)
	}
}

func TestDeliverStatuses(t *testing.T) {
	tests := []struct {
		name       string
		respond    http.HandlerFunc
		outcome    Outcome
		status     int
		err        string
		retryAfter time.Duration
	}{
		{"200", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"ok":true}`) }, OutcomeDelivered, 200, "", 0},
		{"202", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(202) }, OutcomeDelivered, 202, "", 0},
		{"410 gone", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(410) }, OutcomeGone, 410, "410 Gone", 0},
		{"500", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, OutcomeRetry, 500, "500 Internal Server Error", 0},
		// Svix's rule: every non-2xx but 410 is retried, client errors too.
		{"400 retried", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) }, OutcomeRetry, 400, "400 Bad Request", 0},
		{"401 retried", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(401) }, OutcomeRetry, 401, "401", 0},
		{"413 retried", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(413) }, OutcomeRetry, 413, "413", 0},
		{"429 retry-after seconds", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
		}, OutcomeRetry, 429, "429 Too Many Requests", 120 * time.Second},
		{"503 retry-after date", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", newFakeClock().Now().Add(10*time.Minute).Format(http.TimeFormat))
			w.WriteHeader(503)
		}, OutcomeRetry, 503, "503", 10 * time.Minute},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/moved" {
				t.Error("redirect followed")
			}
			http.Redirect(w, r, "/moved", http.StatusFound)
		}, OutcomeRetry, 302, "redirects are not followed", 0},
		{"permanent redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example/", http.StatusPermanentRedirect)
		}, OutcomeRetry, 308, "redirects are not followed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, false, tt.respond)
			clk := newFakeClock()
			d, ep := newDeliverer(t, rcv.URL+"/hook", Options{Now: clk.Now})
			a := d.Deliver(context.Background(), testMessage(t))
			if a.Outcome != tt.outcome || a.Status != tt.status || a.RetryAfter != tt.retryAfter {
				t.Errorf("attempt %+v", a)
			}
			if (tt.err == "") != (a.Err == "") || !strings.Contains(a.Err, tt.err) {
				t.Errorf("error %q, want %q", a.Err, tt.err)
			}
			if strings.Contains(a.Err, "/hook") {
				t.Errorf("error shows the URL path: %s", a.Err)
			}
			checkNoLeak(t, a, ep)
			if n := len(rcv.got()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestDeliver429Schedule(t *testing.T) {
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "90")
		w.WriteHeader(429)
	})
	clk := newFakeClock()
	d, _ := newDeliverer(t, rcv.URL, Options{Now: clk.Now})
	a := d.Deliver(context.Background(), testMessage(t))
	at, ok := NextAttempt(RetryPolicy{}, 1, a, clk.Now(), fixed(0.5))
	if !ok || at.Sub(clk.Now()) != 90*time.Second {
		t.Errorf("after 429 with Retry-After 90: retry in %s", at.Sub(clk.Now()))
	}
}

func TestDeliverSnippet(t *testing.T) {
	big := strings.Repeat("é", 100_000) // 200 KB; 4 KiB cuts a rune
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, big)
	})
	d, _ := newDeliverer(t, rcv.URL, Options{})
	for range 3 {
		a := d.Deliver(context.Background(), testMessage(t))
		if len(a.ResponseSnippet) > MaxSnippetBytes || len(a.ResponseSnippet) < MaxSnippetBytes-3 {
			t.Fatalf("snippet of %d bytes", len(a.ResponseSnippet))
		}
		if !strings.HasPrefix(big, a.ResponseSnippet[:MaxSnippetBytes-4]) || !strings.HasSuffix(a.ResponseSnippet, "é") {
			t.Fatalf("snippet is not the start of the body: ...%q", a.ResponseSnippet[len(a.ResponseSnippet)-8:])
		}
	}
	small := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\xff") })
	d2, _ := newDeliverer(t, small.URL, Options{})
	for range 3 {
		if a := d2.Deliver(context.Background(), testMessage(t)); a.ResponseSnippet != "ok\uFFFD" {
			t.Fatalf("snippet %q", a.ResponseSnippet)
		}
	}
	if n := small.conns.Load(); n != 1 {
		t.Errorf("small responses used %d connections, want 1 reused", n)
	}
}

func TestDeliverTimeout(t *testing.T) {
	release := make(chan struct{})
	rcv := newReceiver(t, false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	clk := newFakeClock()
	d, ep := newDeliverer(t, rcv.URL, Options{Now: clk.Now}, func(e *Endpoint) {
		e.Timeout = agents.Duration(200 * time.Millisecond)
		e.ConnectTimeout = agents.Duration(100 * time.Millisecond)
	})
	a := d.Deliver(context.Background(), testMessage(t))
	if a.Outcome != OutcomeRetry || !a.Timeout || a.Canceled || a.Status != 0 || !strings.Contains(a.Err, "timeout of 200ms") {
		t.Fatalf("attempt %+v", a)
	}
	if a.Latency < 200*time.Millisecond || a.Latency > 2*time.Second {
		t.Errorf("latency %s", a.Latency)
	}
	checkNoLeak(t, a, ep)
	at, ok := NextAttempt(RetryPolicy{}, 1, a, clk.Now(), fixed(0))
	if !ok || at.Sub(clk.Now()) != time.Minute {
		t.Errorf("after a timeout: retry in %s, want the 60s floor", at.Sub(clk.Now()))
	}
}

func TestDeliverCanceled(t *testing.T) {
	rcv := newReceiver(t, false, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	d, _ := newDeliverer(t, rcv.URL, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	a := d.Deliver(ctx, testMessage(t))
	if a.Outcome != OutcomeRetry || !a.Canceled || a.Timeout {
		t.Fatalf("attempt %+v", a)
	}
}

func TestDeliverConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d, _ := newDeliverer(t, "http://"+addr+"/hook", Options{})
	a := d.Deliver(context.Background(), testMessage(t))
	if a.Outcome != OutcomeRetry || a.Timeout || a.Status != 0 || !strings.Contains(a.Err, "refused") {
		t.Fatalf("attempt %+v", a)
	}
}

func TestDeliverRejectsOversizedPayload(t *testing.T) {
	rcv := newReceiver(t, false, nil)
	d, _ := newDeliverer(t, rcv.URL, Options{}, func(e *Endpoint) { e.MaxPayloadBytes = 100 })
	a := d.Deliver(context.Background(), testMessage(t))
	if a.Outcome != OutcomeRejected || !strings.Contains(a.Err, "speech.transcribed evt_01JH7Q3ZK8") || !strings.Contains(a.Err, "100 bytes") {
		t.Fatalf("attempt %+v", a)
	}
	if _, ok := NextAttempt(RetryPolicy{}, 1, a, time.Now(), nil); ok {
		t.Error("rejected attempt retried")
	}
	if n := rcv.conns.Load(); n != 0 {
		t.Errorf("%d connections for a rejected event", n)
	}
}

func TestDeliverHTTPS(t *testing.T) {
	rcv := newReceiver(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.TLS.Version < tls.VersionTLS12 {
			t.Errorf("TLS state %+v", r.TLS)
		}
		w.WriteHeader(200)
	})
	roots := x509.NewCertPool()
	roots.AddCert(rcv.Certificate())
	secure := func(e *Endpoint) { e.AllowInsecureLoopback = false }

	// The test server is on loopback: allowed only by the allow-list.
	for _, allowed := range []string{"127.0.0.1", "127.0.0.0/8", "localhost"} {
		url := rcv.URL
		if allowed == "localhost" {
			url = strings.Replace(url, "127.0.0.1", "localhost", 1)
		}
		d, _ := newDeliverer(t, url, Options{RootCAs: roots}, secure, func(e *Endpoint) { e.AllowedHosts = []string{allowed} })
		if a := d.Deliver(context.Background(), testMessage(t)); a.Outcome != OutcomeDelivered {
			t.Errorf("allowed %s: attempt %+v", allowed, a)
		}
		if d.transport.TLSClientConfig.MinVersion != tls.VersionTLS12 || d.transport.Proxy != nil {
			t.Error("transport allows TLS < 1.2 or a proxy")
		}
	}
	// Without the test CA, the certificate is refused.
	d, _ := newDeliverer(t, rcv.URL, Options{}, secure, func(e *Endpoint) { e.AllowedHosts = []string{"127.0.0.1"} })
	if a := d.Deliver(context.Background(), testMessage(t)); a.Outcome != OutcomeRetry || !strings.Contains(a.Err, "certificate") {
		t.Errorf("untrusted certificate: attempt %+v", a)
	}
	// Loopback without allow-list or allow_insecure_loopback: refused after
	// resolving localhost, before connecting.
	before := rcv.conns.Load()
	for _, url := range []string{rcv.URL, strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1)} {
		d, _ := newDeliverer(t, url, Options{RootCAs: roots}, secure)
		a := d.Deliver(context.Background(), testMessage(t))
		if a.Outcome != OutcomeRetry || !strings.Contains(a.Err, "refusing to connect") || !strings.Contains(a.Err, "loopback") {
			t.Errorf("%s: attempt %+v", url, a)
		}
	}
	// https to loopback with allow_insecure_loopback is allowed.
	d, _ = newDeliverer(t, rcv.URL, Options{RootCAs: roots})
	if a := d.Deliver(context.Background(), testMessage(t)); a.Outcome != OutcomeDelivered {
		t.Errorf("https loopback with allow_insecure_loopback: %+v", a)
	}
	if got := rcv.conns.Load() - before; got != 1 {
		t.Errorf("%d connections reached the server, want only the allowed one", got)
	}
}

func TestNewDelivererRefusesInsecureURL(t *testing.T) {
	for _, tt := range []struct {
		url      string
		loopback bool
	}{
		{"http://hooks.example.com/x", false},
		{"http://hooks.example.com/x", true},
		{"http://10.0.0.1/x", true},
		{"http://169.254.169.254/latest/meta-data", true},
		{"http://127.0.0.1:9/x", false},
	} {
		secret := newSecret(t)
		_, err := NewDeliverer(Endpoint{ID: "x", URL: tt.url + "?token=s3cr3t", Secrets: []string{secret}, AllowInsecureLoopback: tt.loopback}, Options{})
		if !errors.Is(err, ErrInsecureURL) {
			t.Errorf("%s (loopback %v): err = %v", tt.url, tt.loopback, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), secret) {
			t.Errorf("error reveals the URL's query or the secret: %v", err)
		}
	}
	// Every problem at once, none of them quoting a secret.
	_, err := NewDeliverer(Endpoint{ID: "x", URL: "http://example.com", Secrets: []string{"whsec_dG9vc2hvcnQ=", "plain-secret-value"}}, Options{})
	if err == nil || !errors.Is(err, signature.ErrInvalidSecret) || !errors.Is(err, ErrInsecureURL) || strings.Contains(err.Error(), "plain-secret-value") || strings.Contains(err.Error(), "dG9vc2hvcnQ") {
		t.Errorf("err = %v", err)
	}
}

func TestDeliverConcurrent(t *testing.T) {
	var n atomic.Int32
	rcv := newReceiver(t, false, func(w http.ResponseWriter, _ *http.Request) { n.Add(1) })
	d, ep := newDeliverer(t, rcv.URL, Options{})
	g := NewGate(*ep, nil)
	m := testMessage(t)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			p, err := g.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			a := d.Deliver(context.Background(), m)
			p.Done(a)
			if a.Outcome != OutcomeDelivered {
				t.Error(a.Err)
			}
		})
	}
	wg.Wait()
	if n.Load() != 64 || g.Health().Delivered != 64 {
		t.Errorf("%d delivered, health %+v", n.Load(), g.Health())
	}
	if c := rcv.conns.Load(); c > int32(DefaultMaxInFlight) {
		t.Errorf("%d connections for %d in flight", c, DefaultMaxInFlight)
	}
}
