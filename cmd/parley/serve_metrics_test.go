package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestServeMetrics runs `parley serve` with an admin token and
// --metrics-addr, makes a call, and checks /metrics: behind the token on the
// main listener, open on the metrics listener, counting the call.
func TestServeMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	t.Setenv("TEST_ADMIN_TOKEN", "scrape-me")
	base, stop := startServe(t, "--admin-token", "scrape-me", "--metrics-addr", metricsAddr)
	call(t, base, "demo")

	get := func(url, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(base+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the admin token: %d, want 401", code)
	}
	want := `parley_calls_started_total{agent="demo",transport="websocket"} 1`
	for _, url := range []string{base + "/metrics", "http://" + metricsAddr + "/metrics"} {
		token := "scrape-me"
		if !strings.HasPrefix(url, base) {
			token = "" // the internal listener needs none
		}
		code, body := get(url, token)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want 200 with %s; got:\n%.2000s", url, code, want, body)
		}
	}
	stop()
	if _, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Error("the metrics listener still answers after serve stopped")
	}
}
