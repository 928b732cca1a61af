package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkDeliver compares one signed delivery with a plain http.Post of the
// same body to the same local receiver; the "deliver/post" metric of the
// ratio sub-benchmark is the deliverer's overhead (signing, headers, the
// guarded dialer, snippet reading) relative to bare net/http.
func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	m := testMessage(b)
	d, err := NewDeliverer(Endpoint{ID: "bench", URL: srv.URL, Secrets: []string{newSecret(b)}, AllowInsecureLoopback: true}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()

	deliver := func(b *testing.B) {
		if a := d.Deliver(context.Background(), m); a.Outcome != OutcomeDelivered {
			b.Fatal(a.Err)
		}
	}
	post := func(b *testing.B) {
		resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(m.Body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	b.Run("deliverer", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(m.Body)))
		for b.Loop() {
			deliver(b)
		}
	})
	b.Run("http.Post", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(m.Body)))
		for b.Loop() {
			post(b)
		}
	})
	b.Run("ratio", func(b *testing.B) {
		// Interleaved, so that both see the same machine state.
		var td, tp time.Duration
		for b.Loop() {
			t0 := time.Now()
			deliver(b)
			t1 := time.Now()
			post(b)
			td, tp = td+t1.Sub(t0), tp+time.Since(t1)
		}
		b.ReportMetric(float64(td)/float64(tp), "deliver/post")
		b.ReportMetric(float64(td.Nanoseconds())/float64(b.N), "ns/deliver")
		b.ReportMetric(float64(tp.Nanoseconds())/float64(b.N), "ns/post")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				deliver(b)
			}
		})
	})
}

// BenchmarkNextAttempt measures the retry scheduler, run once per failure.
func BenchmarkNextAttempt(b *testing.B) {
	now := time.Now()
	a := Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: time.Minute}
	p := RetryPolicy{}.WithDefaults()
	for b.Loop() {
		NextAttempt(p, 3, a, now, fixed(0.3))
	}
}
