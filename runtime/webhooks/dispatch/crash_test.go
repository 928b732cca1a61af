package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/internal/whtest"
)

// The crash tests run the "parley process" as a child: the test binary runs
// itself again with -test.run=^TestCrashChild$ and the environment below
// saying what to do (the os/exec test pattern). The parent owns the
// receiver, kills the child with SIGKILL and starts it again on the same
// data directory.

const (
	crashEnvMode   = "PARLEY_CRASH_CHILD"    // emit, trickle or deliver
	crashEnvData   = "PARLEY_CRASH_DATA_DIR" // the dispatcher's DataDir
	crashEnvURL    = "PARLEY_CRASH_RECEIVER" // the endpoint's URL
	crashEnvEvents = "PARLEY_CRASH_EVENTS"   // how many events to emit

	crashEvents = 10000
	// crashAckWait is how long the restarted child waits for the deliveries
	// that were in flight when its predecessor died.
	crashAckWait = 4 * time.Second // at least twice the endpoint timeout
	// crashReply is how long the receiver takes to answer, so that delivering
	// 10,000 events takes seconds and the kill lands in the middle.
	crashReply = 750 * time.Microsecond
)

// crashEvent is the i-th event the child emits: 100 calls, in sequence.
func crashEvent(i int) *events.Event {
	return whtest.Event(fmt.Sprintf("call_%03d", i%100), uint64(i/100+1))
}

// TestCrashChild is the parley process of the crash tests; in a normal run
// (no PARLEY_CRASH_CHILD) it has nothing to do.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv(crashEnvMode)
	if mode == "" {
		return
	}
	n, _ := strconv.Atoi(os.Getenv(crashEnvEvents))
	ep := endpoint("crm", os.Getenv(crashEnvURL))
	ep.Timeout = agents.Duration(2 * time.Second)
	cfg := dispatch.Config{
		DataDir:   os.Getenv(crashEnvData),
		Endpoints: []webhooks.Endpoint{ep},
		AckWait:   crashAckWait,
		Node:      "parley-crash-" + mode,
		NoProduce: mode == "deliver",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := dispatch.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("opening the dispatcher: %v", err)
	}
	fmt.Println("ready")
	stdinClosed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(stdinClosed) }()

	switch mode {
	case "emit":
		for i := range n {
			d.Accept(crashEvent(i))
		}
		if err := d.Flush(ctx); err != nil {
			t.Fatalf("flushing: %v", err)
		}
		st := d.Stats()
		fmt.Printf("stored %d dropped %d\n", st.Stored, st.Dropped)
	case "trickle":
		// The producer counts an event as stored in the order events were
		// accepted (its acknowledgements are awaited in order), so "stored
		// N" means the first N events are in the queue.
		const batch = 100
		for i := 0; i < n; i += batch {
			for j := i; j < min(i+batch, n); j++ {
				d.Accept(crashEvent(j))
			}
			time.Sleep(10 * time.Millisecond)
			st := d.Stats()
			fmt.Printf("stored %d dropped %d\n", st.Stored, st.Dropped)
		}
		if err := d.Flush(ctx); err != nil {
			t.Fatalf("flushing: %v", err)
		}
		st := d.Stats()
		fmt.Printf("stored %d dropped %d\n", st.Stored, st.Dropped)
	case "deliver":
		// Report the queue depth so the parent knows when nothing is left.
		go func() {
			for {
				select {
				case <-stdinClosed:
					return
				case <-time.After(100 * time.Millisecond):
				}
				eps, err := d.Endpoints(ctx)
				if err == nil && len(eps) == 1 {
					fmt.Printf("pending %d retrying %d delivered %d at %s\n", eps[0].Pending, eps[0].Retrying, eps[0].Node.Delivered,
						time.Now().Format("15:04:05.000"))
				}
			}
		}()
	default:
		t.Fatalf("unknown %s %q", crashEnvMode, mode)
	}
	// Deliver until the parent closes stdin (or dies).
	<-stdinClosed
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if err := d.Close(cctx); err != nil {
		t.Fatalf("closing: %v", err)
	}
	fmt.Println("closed")
}

// TestCrashKilledWhileDelivering is issue 3's crash test: while 10,000 stored
// events are being delivered the process is killed with SIGKILL and started
// again; the receiver ends with every event, and the duplicates are counted.
func TestCrashKilledWhileDelivering(t *testing.T) {
	start := time.Now()
	rcv := whtest.NewReceiver(t)
	slowReceiver(rcv)
	dir := t.TempDir()

	first := startCrashChild(t, "emit", dir, rcv.URL, crashEvents)
	first.waitLine(t, "all events stored", 60*time.Second, func(l string) bool {
		return l == fmt.Sprintf("stored %d dropped 0", crashEvents)
	})
	stored := time.Since(start)
	crashWaitFor(t, "the first deliveries", 60*time.Second, func() bool { return rcv.Distinct() >= 2500 })
	before, dupsBefore := rcv.Distinct(), rcv.Duplicates()
	if before >= crashEvents {
		t.Fatalf("all %d events were delivered before the kill: the receiver must answer more slowly", crashEvents)
	}
	first.kill(t)
	killedAt := time.Since(start)
	t.Logf("killed the parley process (SIGKILL) after %s with %d of %d events delivered (%d duplicates so far)",
		killedAt.Round(time.Millisecond), before, crashEvents, dupsBefore)

	second := startCrashChild(t, "deliver", dir, rcv.URL, 0)
	rcv.WaitDistinct(t, crashEvents, 90*time.Second)
	for i := range crashEvents {
		if id := crashEvent(i).ID; !rcv.Has(id) {
			t.Fatalf("event %s never arrived", id)
		}
	}
	second.waitLine(t, "an empty queue", 30*time.Second, func(l string) bool { return strings.HasPrefix(l, "pending 0 retrying 0 ") })
	second.stop(t)

	dups := rcv.Duplicates()
	if bad := rcv.BadSignatures(); bad != 0 {
		t.Fatalf("%d requests failed signature verification", bad)
	}
	// At most the deliveries in flight or answered but not yet acknowledged
	// when the process died come back: the lanes plus what was pulled ahead.
	if dups >= 1000 {
		t.Fatalf("%d duplicates after one crash: expected a few dozen at most", dups)
	}
	summary := fmt.Sprintf("crash test: %d/%d distinct event_ids delivered, %d duplicates (%d before the kill), %d requests; "+
		"stored in %s, killed at %s with %d delivered, all delivered after %s",
		rcv.Distinct(), crashEvents, dups, dupsBefore, rcv.Requests(), stored.Round(time.Millisecond),
		killedAt.Round(time.Millisecond), before, time.Since(start).Round(time.Millisecond))
	t.Log(summary)
	fmt.Println(summary)
}

// TestCrashKilledWhileEmitting kills the process while it is still emitting:
// every event it reported stored before it died is delivered after the
// restart.
func TestCrashKilledWhileEmitting(t *testing.T) {
	start := time.Now()
	rcv := whtest.NewReceiver(t)
	slowReceiver(rcv)
	dir := t.TempDir()

	first := startCrashChild(t, "trickle", dir, rcv.URL, crashEvents)
	storedBefore := 0
	first.waitLine(t, "3,000 events stored", 60*time.Second, func(l string) bool {
		var s, dropped int
		if _, err := fmt.Sscanf(l, "stored %d dropped %d", &s, &dropped); err != nil {
			return false
		}
		if dropped != 0 {
			t.Fatalf("the child dropped %d events", dropped)
		}
		storedBefore = s
		return s >= 3000
	})
	first.kill(t)
	// The last line printed before the kill is the most the child promised.
	stored := storedBefore
	for _, l := range first.out.all() {
		var s, dropped int
		if _, err := fmt.Sscanf(l, "stored %d dropped %d", &s, &dropped); err == nil {
			stored = max(stored, s)
		}
	}
	if stored >= crashEvents {
		t.Fatalf("the child stored all %d events before the kill: it must emit more slowly", crashEvents)
	}
	t.Logf("killed the parley process (SIGKILL) after %s: %d events reported stored, %d delivered",
		time.Since(start).Round(time.Millisecond), stored, rcv.Distinct())

	second := startCrashChild(t, "deliver", dir, rcv.URL, 0)
	crashWaitFor(t, fmt.Sprintf("the %d events reported stored", stored), 90*time.Second, func() bool {
		for i := range stored {
			if !rcv.Has(crashEvent(i).ID) {
				return false
			}
		}
		return true
	})
	second.waitLine(t, "an empty queue", 30*time.Second, func(l string) bool { return strings.HasPrefix(l, "pending 0 retrying 0 ") })
	second.stop(t)

	known := map[string]bool{}
	for i := range crashEvents {
		known[crashEvent(i).ID] = true
	}
	for _, r := range rcv.Receipts() {
		if !known[r.EventID] {
			t.Fatalf("the receiver got an event that was never emitted: %s", r.EventID)
		}
	}
	if bad := rcv.BadSignatures(); bad != 0 {
		t.Fatalf("%d requests failed signature verification", bad)
	}
	dups := rcv.Duplicates()
	if dups >= 1000 {
		t.Fatalf("%d duplicates after one crash: expected a few dozen at most", dups)
	}
	summary := fmt.Sprintf("crash while emitting: %d events reported stored, %d distinct delivered (%d stored but not yet reported), %d duplicates, %s",
		stored, rcv.Distinct(), rcv.Distinct()-stored, dups, time.Since(start).Round(time.Millisecond))
	t.Log(summary)
	fmt.Println(summary)
}

// slowReceiver makes the receiver answer after crashReply.
func slowReceiver(rcv *whtest.Receiver) {
	rcv.Respond = func(*whtest.Receipt, int) (int, time.Duration) { return 204, crashReply }
	// The requests come from another process, so nothing orders this write
	// before the handlers' reads for the race detector. The server's mutex,
	// which every new connection takes before its handler starts, does.
	rcv.CloseClientConnections()
}

// crashWaitFor polls cond until it holds, failing the test after timeout.
func crashWaitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// crashChild is one run of the parley process.
type crashChild struct {
	mode   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *crashLines
	errOut *crashBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

func startCrashChild(t *testing.T, mode, dir, url string, n int) *crashChild {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("finding the test binary to run as the parley process: %v", err)
	}
	c := &crashChild{mode: mode, out: newCrashLines(), errOut: &crashBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
	c.cmd.Env = append(os.Environ(),
		crashEnvMode+"="+mode, crashEnvData+"="+dir, crashEnvURL+"="+url, crashEnvEvents+"="+strconv.Itoa(n))
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.errOut
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting the parley process: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("parley process (%s) stdout:\n%s\nstderr:\n%s", mode, strings.Join(c.out.all(), "\n"), crashTail(c.errOut.String(), 4000))
		}
	})
	return c
}

// waitLine waits until the child prints a line for which match is true.
func (c *crashChild) waitLine(t *testing.T, what string, timeout time.Duration, match func(string) bool) {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		lines, changed := c.out.since(seen)
		for _, l := range lines {
			if match(l) {
				return
			}
		}
		seen += len(lines)
		select {
		case <-changed:
		case <-c.exited:
			if lines, _ := c.out.since(seen); len(lines) > 0 {
				continue
			}
			t.Fatalf("the parley process (%s) exited (%v) before printing %s", c.mode, c.err, what)
		case <-deadline:
			t.Fatalf("the parley process (%s) did not report %s within %s", c.mode, what, timeout)
		}
	}
}

// kill sends SIGKILL and checks that the process died of it.
func (c *crashChild) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing the parley process: %v", err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the parley process is still running 10s after SIGKILL")
	}
	ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the parley process ended with %v, not by SIGKILL", c.cmd.ProcessState)
	}
	if err := c.cmd.Process.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("the parley process still answers signals after SIGKILL: %v", err)
	}
}

// stop closes the child's stdin, which makes it close the dispatcher and exit.
func (c *crashChild) stop(t *testing.T) {
	t.Helper()
	_ = c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the parley process did not exit within 30s of being asked to")
	}
	if c.err != nil {
		t.Fatalf("the parley process failed: %v", c.err)
	}
}

// crashLines collects a process's output lines and signals new ones.
type crashLines struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	changed chan struct{} // closed and replaced when lines are added
}

func newCrashLines() *crashLines { return &crashLines{changed: make(chan struct{})} }

func (b *crashLines) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.lines = append(b.lines, string(b.partial[:i]))
		b.partial = b.partial[i+1:]
		added = true
	}
	if added {
		close(b.changed)
		b.changed = make(chan struct{})
	}
	return len(p), nil
}

// since returns the lines after the first n and a channel closed when more
// arrive.
func (b *crashLines) since(n int) ([]string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines[n:]...), b.changed
}

func (b *crashLines) all() []string {
	l, _ := b.since(0)
	return l
}

type crashBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *crashBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *crashBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func crashTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
