package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/runtime/webhooks/receiver"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// TestServeDeliversWebhooks runs `parley serve --server-config` with a
// webhook endpoint, makes a call, and checks a receiver built on the receiver
// package gets its events, signed, from call.started to call.ended; the admin
// API answers with the token only; a shutdown ends serve cleanly.
func TestServeDeliversWebhooks(t *testing.T) {
	secret, err := signature.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	v, err := receiver.NewVerifier([]string{secret.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []receiver.EventEnvelope
	rcv := &http.Server{Handler: receiver.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := receiver.FromContext(r.Context())
		mu.Lock()
		got = append(got, d.Event)
		mu.Unlock()
	}))}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = rcv.Serve(rln) }()
	defer rcv.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "parley.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
admin:
  token: ${TEST_ADMIN_TOKEN}
webhooks:
  endpoints:
    - id: crm
      url: http://%s/hooks
      allow_insecure_loopback: true
      secrets: ["%s"]
      events: ["call.*"]
`, filepath.Join(dir, "data"), rln.Addr(), secret.Encode())
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_ADMIN_TOKEN", "let-me-in")

	base, stop := startServe(t, "--server-config", cfgPath)
	callID := call(t, base, "demo")

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		var types []string
		for _, e := range got {
			if e.CallID == callID {
				types = append(types, e.EventType)
			}
		}
		mu.Unlock()
		if len(types) > 0 && types[len(types)-1] == "call.ended" {
			if types[0] != "call.started" {
				t.Errorf("webhooks for the call: %v", types)
			}
			for _, ty := range types {
				if !strings.HasPrefix(ty, "call.") {
					t.Errorf("event %s passed the endpoint's call.* filter", ty)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks received for call %s: %v", callID, types)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The admin API wants the token.
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/admin/webhooks/endpoints", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("admin API without a token: %d", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer let-me-in")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Endpoints []struct {
			ID string `json:"id"`
		} `json:"endpoints"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(body.Endpoints) != 1 || body.Endpoints[0].ID != "crm" {
		t.Errorf("admin API with the token: %d %+v %v", resp.StatusCode, body, err)
	}

	stop()
}

// TestServeDeliversAnAgentsOwnWebhooks: an agent config's own `webhooks:`
// endpoint, with no server config at all, gets that agent's events.
func TestServeDeliversAnAgentsOwnWebhooks(t *testing.T) {
	secret, err := signature.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	v, err := receiver.NewVerifier([]string{secret.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan receiver.EventEnvelope, 1)
	rcv := &http.Server{Handler: receiver.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := receiver.FromContext(r.Context())
		if d.Event.EventType == "call.ended" {
			select {
			case ended <- d.Event:
			default:
			}
		}
	}))}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = rcv.Serve(rln) }()
	defer rcv.Close()

	demo, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	agentPath := filepath.Join(dir, "demo.yaml")
	agent := string(demo) + fmt.Sprintf(`
webhooks:
  - id: demo-own
    url: http://%s/hooks
    allow_insecure_loopback: true
    secrets: ["${TEST_AGENT_SECRET}"]
    events: ["call.ended"]
`, rln.Addr())
	if err := os.WriteFile(agentPath, []byte(agent), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_AGENT_SECRET", secret.Encode())
	t.Setenv("PARLEY_SERVER_CONFIG", "")
	t.Setenv("PARLEY_ADMIN_TOKEN", "")

	base, stop := startServe(t, "--data-dir", filepath.Join(dir, "data"), agentPath)
	callID := call(t, base, "demo")
	select {
	case e := <-ended:
		if e.CallID != callID || e.AgentID != "demo" {
			t.Fatalf("call.ended for call %s agent %s, want %s demo", e.CallID, e.AgentID, callID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no call.ended delivered to the agent's endpoint")
	}
	// Without an admin token the admin API refuses everything.
	resp, err := http.Get(base + "/v1/admin/webhooks/endpoints")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("admin API without a configured token: %d, want 403", resp.StatusCode)
	}
	stop()
}

// startServe runs `parley serve` with args on a free port until the test
// ends; it returns the base URL once /readyz answers 200, and a stop func
// that cancels the server (as SIGTERM does) and checks it exited 0 and
// logged no secret.
func startServe(t *testing.T, args ...string) (base string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...), &out, &errOut)
	}()
	base = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready: %v\n%s", err, errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("serve exited %d\n%s", code, errOut.String())
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop")
			}
			for _, secret := range []string{os.Getenv("TEST_ADMIN_TOKEN"), os.Getenv("TEST_AGENT_SECRET")} {
				if secret != "" && strings.Contains(errOut.String(), secret) {
					t.Error("a secret appears in the logs")
				}
			}
		})
	}
	t.Cleanup(stop)
	return base, stop
}

// call makes a call to agent over the native protocol, hangs up after a
// moment and returns the call id.
func call(t *testing.T, base, agent string) string {
	t.Helper()
	started := make(chan string, 1)
	cl, err := native.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/v1/ws", nil,
		native.Control{Agent: agent, From: "+15550123"}, native.ClientHandler{OnStarted: func(id string) { started <- id }})
	if err != nil {
		t.Fatal(err)
	}
	id := <-started
	time.Sleep(300 * time.Millisecond)
	_ = cl.Hangup()
	<-cl.Done()
	return id
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWebRTCFlags(t *testing.T) {
	c, err := webrtcConfig([]string{"stun:stun.example.com:3478"}, []string{"203.0.113.9"}, "40000-40999")
	if err != nil || c.UDPPortMin != 40000 || c.UDPPortMax != 40999 || len(c.ICEServers) != 1 || c.PublicIPs[0] != "203.0.113.9" {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, bad := range []struct {
		ips   []string
		ports string
	}{{[]string{"not-an-ip"}, ""}, {nil, "40000"}, {nil, "5-1"}, {nil, "0-10"}, {nil, "a-b"}} {
		if _, err := webrtcConfig(nil, bad.ips, bad.ports); err == nil {
			t.Errorf("%v %q accepted", bad.ips, bad.ports)
		}
	}
	if code, _, errOut := runCLI(t, "serve", "--udp-ports", "9-1"); code == 0 || !strings.Contains(errOut, "--udp-ports") {
		t.Errorf("serve --udp-ports 9-1: %d %q", code, errOut)
	}
}
