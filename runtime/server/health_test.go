package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/server"
)

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: body not JSON: %v", url, err)
	}
	return resp.StatusCode, body
}

// TestReadiness: /readyz lists each check; it fails when a check fails, when
// the node has no agent left, and while draining, when /healthz still says
// the process is alive.
func TestReadiness(t *testing.T) {
	var queueDown atomic.Bool
	ts := newTestServer(t, server.Config{AdminToken: adminToken})
	ts.srv.AddReadyCheck("webhook_queue", func() error {
		if queueDown.Load() {
			return errors.New("webhook queue (NATS) not connected")
		}
		return nil
	})
	status, body := getJSON(t, ts.hs.URL+"/readyz")
	checks, _ := body["checks"].(map[string]any)
	if status != 200 || body["status"] != "ready" || checks["agents"] != "ok" || checks["webhook_queue"] != "ok" {
		t.Fatalf("/readyz = %d %v; want 200 ready with the agents and webhook_queue checks ok", status, body)
	}
	queueDown.Store(true)
	status, body = getJSON(t, ts.hs.URL+"/readyz")
	checks, _ = body["checks"].(map[string]any)
	if status != 503 || body["status"] != "not_ready" || checks["webhook_queue"] != "webhook queue (NATS) not connected" {
		t.Errorf("/readyz with the queue down = %d %v", status, body)
	}
	queueDown.Store(false)

	if status, body := admin(t, ts, "DELETE", "/v1/admin/agents/test", ""); status != 200 {
		t.Fatalf("DELETE: %d %v", status, body)
	}
	status, body = getJSON(t, ts.hs.URL+"/readyz")
	checks, _ = body["checks"].(map[string]any)
	if status != 503 || checks["agents"] == "ok" {
		t.Errorf("/readyz without agents = %d %v; want 503 with the agents check failing", status, body)
	}
	if status, body := admin(t, ts, "PUT", "/v1/admin/agents/test", testAgent); status != 201 {
		t.Fatalf("PUT: %d %v", status, body)
	}

	p := mustDial(t, ts)
	p.awaitListening()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ts.srv.Shutdown(ctx) }()
	for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
		status, body = getJSON(t, ts.hs.URL+"/readyz")
		if status == 503 && body["status"] == "draining" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said draining: %d %v", status, body)
		}
	}
	if status, body := getJSON(t, ts.hs.URL+"/healthz"); status != 200 || body["status"] != "ok" {
		t.Errorf("/healthz while draining = %d %v; want 200", status, body)
	}
	if body["live_calls"] != 1.0 {
		t.Errorf("/readyz while draining: live_calls %v, want 1", body["live_calls"])
	}
	p.hangUp() // the call finishes on its own: the drain ends without the deadline
	<-done
	cancel()
	if reason := ts.endReason(p.event("call.started", nil).CallID); reason != "caller_hangup" {
		t.Errorf("call ended with %s, want caller_hangup", reason)
	}
}
