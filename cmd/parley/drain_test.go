package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/runtime/webhooks/receiver"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// drainEnvArgs holds the command line (JSON) of the parley process the drain
// test runs; without it TestDrainChild has nothing to do.
const drainEnvArgs = "PARLEY_DRAIN_CHILD_ARGS"

// TestDrainChild is the `parley` process of TestDrainOnSIGTERM: the test
// binary run again, doing what main does.
func TestDrainChild(t *testing.T) {
	raw := os.Getenv(drainEnvArgs)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// drainAgent stays on the line: the callers say nothing, and the silence
// timeout is longer than the test.
const drainAgent = `id: drain
greeting: Hi.
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: fake}
timeouts: {silence: 2m}
`

// TestDrainOnSIGTERM is issue 6's drain test. SIGTERM arrives during three
// live calls while the webhook receiver is down: /readyz turns 503 at once,
// the calls get the grace period and then end with server_shutdown, and the
// process exits 0. Started again on the same data directory with the
// receiver up, parley delivers every event of the three calls, the
// server_shutdown call.ended included: nothing was lost.
func TestDrainOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("runs parley twice as a child process")
	}
	secret, err := signature.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	v, err := receiver.NewVerifier([]string{secret.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	var (
		up       atomic.Bool
		mu       sync.Mutex
		received = map[string]receiver.EventEnvelope{} // by event id
		arrived  = make(chan struct{}, 1)
	)
	verified := receiver.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := receiver.FromContext(r.Context())
		mu.Lock()
		received[d.Event.EventID] = d.Event
		mu.Unlock()
		select {
		case arrived <- struct{}{}:
		default:
		}
	}))
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		verified.ServeHTTP(w, r)
	})}
	rln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = rcv.Serve(rln) }()
	defer rcv.Close()

	dir := t.TempDir()
	agentPath := filepath.Join(dir, "drain.yaml")
	if err := os.WriteFile(agentPath, []byte(drainAgent), 0o600); err != nil {
		t.Fatal(err)
	}
	// Retries every half second for longer than the test, so that nothing
	// is dead-lettered while the receiver is down; a short cool-down so that
	// the second run delivers at once.
	schedule := "[0" + strings.Repeat(", 500ms", 99) + "]"
	cfgPath := filepath.Join(dir, "parley.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
admin: {token: drain-admin-token}
queue: {shutdown_timeout: 3s}
webhooks:
  endpoints:
    - id: crm
      url: http://%s/hooks
      allow_insecure_loopback: true
      secrets: ["%s"]
      retry: {schedule: %s, jitter: 0}
      circuit_breaker: {cool_down: 1s}
`, filepath.Join(dir, "data"), rln.Addr(), secret.Encode(), schedule)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	const grace = 2 * time.Second
	args := func(addr string) []string {
		return []string{"serve", "--addr", addr, "--grace", grace.String(), "--log-level", "info",
			"--server-config", cfgPath, agentPath}
	}

	// First run: three calls, then SIGTERM.
	first := startParley(t, args(freeAddr(t)))
	callers := make([]*drainCaller, 3)
	for i := range callers {
		callers[i] = dialDrainCaller(t, first.base)
	}
	for _, c := range callers {
		c.waitEvent(t, "call.started")
	}
	signalled := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Not ready at once, and still answering while the calls drain.
	sawDraining := false
	for time.Since(signalled) < grace {
		resp, err := http.Get(first.base + "/readyz")
		if err != nil {
			break
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && body["status"] == "draining" {
			sawDraining = true
			if body["live_calls"] != 3.0 {
				t.Errorf("/readyz while draining: live_calls %v, want 3", body["live_calls"])
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !sawDraining {
		t.Error("/readyz did not report draining (503) after SIGTERM")
	}
	// A new call is refused while the node drains.
	if _, err := native.Dial(context.Background(), wsURL(first.base), nil, native.Control{Agent: "drain"}, native.ClientHandler{}); err == nil || !strings.Contains(err.Error(), "draining") {
		t.Errorf("a call while draining: %v, want a draining refusal", err)
	}
	code := first.wait(t, grace+30*time.Second)
	took := time.Since(signalled)
	if code != 0 {
		t.Fatalf("parley exited %d after SIGTERM, want 0", code)
	}
	if took < grace {
		t.Errorf("parley exited %v after SIGTERM, before the grace period of %v was over", took, grace)
	}
	for _, want := range []string{"draining", "drain deadline passed", "webhook dispatcher stopped"} {
		if !strings.Contains(first.stderr.String(), want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	if strings.Contains(first.stderr.String(), secret.Encode()) || strings.Contains(first.stderr.String(), "drain-admin-token") {
		t.Error("a secret appears in the log")
	}
	seen := map[string][]native.ClientEvent{} // by call id: what each caller saw
	for _, c := range callers {
		ended := c.waitEvent(t, "call.ended")
		if ended.Payload["reason"] != "server_shutdown" {
			t.Errorf("call %s ended with %v, want server_shutdown", ended.CallID, ended.Payload["reason"])
		}
		seen[ended.CallID] = c.all()
	}
	mu.Lock()
	if len(received) != 0 {
		t.Errorf("%d events delivered while the receiver was down", len(received))
	}
	mu.Unlock()

	// Second run on the same data directory, receiver up: every event of
	// the three calls arrives.
	up.Store(true)
	second := startParley(t, args(freeAddr(t)))
	deadline := time.After(60 * time.Second)
	for {
		missing := missingEvents(seen, &mu, received)
		if len(missing) == 0 {
			break
		}
		select {
		case <-arrived:
		case <-time.After(time.Second):
		case <-deadline:
			t.Fatalf("after the restart, events never delivered: %s", strings.Join(missing, ", "))
		}
	}
	mu.Lock()
	shutdowns, delivered := 0, len(received)
	for _, e := range received {
		if e.EventType == "call.ended" {
			if _, ours := seen[e.CallID]; ours && strings.Contains(string(e.Payload), `"reason":"server_shutdown"`) {
				shutdowns++
			}
		}
	}
	mu.Unlock()
	t.Logf("after the restart: %d events delivered, %d of them call.ended with server_shutdown", delivered, shutdowns)
	if shutdowns != 3 {
		t.Errorf("%d call.ended with server_shutdown delivered, want 3", shutdowns)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t, 30*time.Second); code != 0 {
		t.Errorf("second run exited %d, want 0", code)
	}
}

// missingEvents lists the events the callers saw that the receiver has not
// had, and each call's call.started and call.ended if missing.
func missingEvents(seen map[string][]native.ClientEvent, mu *sync.Mutex, received map[string]receiver.EventEnvelope) []string {
	mu.Lock()
	defer mu.Unlock()
	var missing []string
	for callID, evs := range seen {
		types := map[string]bool{}
		for _, e := range received {
			if e.CallID == callID {
				types[e.EventType] = true
			}
		}
		for _, want := range []string{"call.started", "call.ended"} {
			if !types[want] {
				missing = append(missing, callID+" "+want)
			}
		}
		for _, e := range evs {
			if _, ok := received[e.ID]; !ok {
				missing = append(missing, fmt.Sprintf("%s %s #%d", callID, e.Type, e.Sequence))
			}
		}
	}
	return missing
}

// parleyProcess is one run of `parley serve` as a child process.
type parleyProcess struct {
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startParley runs the test binary as `parley` with args (the --addr among
// them) and waits until its /readyz answers 200.
func startParley(t *testing.T, args []string) *parleyProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(args)
	p := &parleyProcess{stderr: &syncBuffer{}, exited: make(chan struct{})}
	for i, a := range args {
		if a == "--addr" {
			p.base = "http://" + args[i+1]
		}
	}
	p.cmd = exec.Command(exe, "-test.run=^TestDrainChild$", "-test.count=1", "-test.timeout=5m")
	p.cmd.Env = append(os.Environ(), drainEnvArgs+"="+string(raw), "PARLEY_SERVER_CONFIG=", "PARLEY_ADMIN_TOKEN=")
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting parley: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("parley %v log:\n%s", args[:3], p.stderr.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("parley exited before it was ready (%v):\n%s", p.err, p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("parley not ready: %v\n%s", err, p.stderr.String())
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *parleyProcess) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("parley did not exit within %v", timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("waiting for parley: %v", p.err)
	}
	return 0
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/v1/ws" }

// drainCaller is a native-protocol caller that records the events it gets.
type drainCaller struct {
	cl     *native.Client
	mu     sync.Mutex
	evs    []native.ClientEvent
	signal chan struct{}
}

func dialDrainCaller(t *testing.T, base string) *drainCaller {
	t.Helper()
	c := &drainCaller{signal: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := native.Dial(ctx, wsURL(base), nil, native.Control{Agent: "drain", From: "+15550100"}, native.ClientHandler{
		OnEvent: func(e native.ClientEvent) {
			c.mu.Lock()
			c.evs = append(c.evs, e)
			c.mu.Unlock()
			select {
			case c.signal <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		t.Fatalf("calling: %v", err)
	}
	c.cl = cl
	t.Cleanup(func() { cl.Close() })
	return c
}

func (c *drainCaller) all() []native.ClientEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]native.ClientEvent(nil), c.evs...)
}

// waitEvent waits for the first event of type typ.
func (c *drainCaller) waitEvent(t *testing.T, typ string) native.ClientEvent {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		for _, e := range c.all() {
			if e.Type == typ {
				return e
			}
		}
		select {
		case <-c.signal:
		case <-c.cl.Done():
			for _, e := range c.all() {
				if e.Type == typ {
					return e
				}
			}
			t.Fatalf("the connection closed (%v) before %s", c.cl.Err(), typ)
		case <-deadline:
			t.Fatalf("no %s", typ)
		}
	}
}
