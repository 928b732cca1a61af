package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// hookReceiver is a webhook receiver that checks every request's Standard
// Webhooks signature and answers 500 until it is told to accept.
type hookReceiver struct {
	t       *testing.T
	secrets []signature.Secret
	accept  atomic.Bool
	bad     atomic.Int32

	mu        sync.Mutex
	refused   []string // event ids answered 500
	delivered chan string
}

func newHookReceiver(t *testing.T) (*hookReceiver, string, *httptest.Server) {
	sec, err := signature.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	r := &hookReceiver{t: t, secrets: []signature.Secret{sec}, delivered: make(chan string, 64)}
	return r, sec.Encode(), httptest.NewServer(r)
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	if err := signature.Verify(r.secrets, req.Header, body, time.Now(), 0); err != nil {
		r.bad.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var e struct {
		ID string `json:"event_id"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" || e.ID != req.Header.Get(signature.HeaderID) {
		r.bad.Add(1)
		http.Error(w, "not an event envelope", http.StatusBadRequest)
		return
	}
	if !r.accept.Load() {
		r.mu.Lock()
		r.refused = append(r.refused, e.ID)
		r.mu.Unlock()
		http.Error(w, "receiver down for the test", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	select {
	case r.delivered <- e.ID:
	default:
	}
}

// TestDashboardInChromium is the dashboard's acceptance test: a server with
// an admin token and a webhook dispatcher whose only endpoint fails, a real
// call over the native WebSocket with espeak-ng speech, and headless
// Chromium driving the dashboard. The call must show up in the live list,
// its page must show the caller's recognised words as they are said and a
// latency waterfall for each turn, and after the call the dead-lettered
// call.ended must be replayed from the DLQ view and reach the receiver.
// A screenshot of the call page is saved; with PARLEY_SCREENSHOT_DIR=docs it
// also goes to docs/dashboard-call.png.
func TestDashboardInChromium(t *testing.T) {
	requireSpeech(t)
	chromium := requireChromium(t)
	checkLeaks(t)
	began := time.Now()
	token := randomToken(t)

	rcv, secret, hook := newHookReceiver(t)
	t.Cleanup(hook.Close)

	data, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := agents.Parse("configs/demo.yaml", data, os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	srv, err := server.New(server.Config{Agents: []*agents.Config{cfg}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// One attempt and straight to the DLQ: only call.ended goes to the
	// endpoint, so exactly one event is dead-lettered per call.
	d, err := dispatch.Open(context.Background(), dispatch.Config{
		Endpoints: []webhooks.Endpoint{{ID: "crm", URL: hook.URL, Secrets: []string{secret}, Events: []string{events.CallEnded},
			AllowInsecureLoopback: true, Retry: &webhooks.RetryPolicy{Schedule: []agents.Duration{0}}}},
		DataDir: t.TempDir(), RetryPoll: 100 * time.Millisecond, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("closing the dispatcher: %v", err)
		}
	})
	srv.Bus().AddSink(d)
	srv.Mount(dispatch.AdminPrefix, dispatch.NewAdminHandler(d, token, quiet))
	srv.MountDashboard(token)
	sub := srv.Bus().Subscribe(100000, "")
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx) // closes the bus, which ends the dashboard's event streams
		hs.CloseClientConnections()
		hs.Close()
	})

	// The caller connects first and hears the greeting.
	p := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/v1/ws")
	callID := p.cl.CallID()
	p.await(events.AgentSpeechEnded, 20*time.Second, nil)
	t.Logf("call %s greeted after %s", callID, time.Since(began).Round(time.Millisecond))

	// The browser.
	var consoleMu sync.Mutex
	var console []string
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	if err := chromedp.Listen(bctx, func(ev any) {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value))
			}
			console = append(console, fmt.Sprintf("console.%s %s", ev.Type, strings.Join(args, " ")))
		case *runtime.EventExceptionThrown:
			x := ev.ExceptionDetails
			desc := ""
			if x.Exception != nil {
				desc = x.Exception.Description
			}
			console = append(console, fmt.Sprintf("exception at %s:%d: %s %s", x.URL, x.LineNumber+1, x.Text, desc))
		}
	}); err != nil {
		t.Fatalf("listening to the browser: %v", err)
	}
	// fail ends the test with what the page shows and logged.
	fail := func(what string, err error) {
		t.Helper()
		text, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('view').innerText`))
		consoleMu.Lock()
		defer consoleMu.Unlock()
		t.Fatalf("%s: %v\npage text:\n%s\nbrowser console:\n%s", what, err, text, strings.Join(console, "\n"))
	}
	// do runs browser steps with a deadline.
	do := func(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, timeout)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			fail(what, err)
		}
	}
	// waitFor polls a JavaScript predicate in the page.
	waitFor := func(what string, timeout time.Duration, js string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, timeout+time.Second)
		defer cancel()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
			fail("waiting for "+what, err)
		}
	}
	jsString := func(s string) string { b, _ := json.Marshal(s); return string(b) }

	// Sign in: the page asks for the token, then lists the live call.
	do("opening the dashboard", 20*time.Second,
		chromedp.Navigate(hs.URL+"/dashboard/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("login-submit")))
	row := `#live-calls tr[data-call=` + jsString(callID) + `]`
	waitFor("the live call in the live list", 10*time.Second, `!!document.querySelector(`+jsString(row)+`)`)
	if url, err := chromedp.Run(bctx, chromedp.Location()); err != nil || strings.Contains(url, token) {
		t.Fatalf("the token is in the URL %q (%v)", url, err)
	}

	// The call page, open while the caller speaks: the transcript arrives
	// over the event stream.
	do("opening the call page", 10*time.Second,
		chromedp.Click(chromedp.CSS(row+" a")),
		chromedp.WaitVisible(chromedp.ID("transcript")))
	for i, line := range []string{"i would like to book an appointment", "tuesday"} {
		time.Sleep(300 * time.Millisecond)
		p.say(speech(t, line))
		tr := p.await(events.SpeechTranscribed, 20*time.Second, nil)
		heard, _ := tr.Payload["text"].(string)
		if heard == "" {
			t.Fatalf("turn %d: empty transcript", i+1)
		}
		waitFor(fmt.Sprintf("turn %d's words %q on the call page", i+1, heard), 5*time.Second,
			`[...document.querySelectorAll('#transcript .line.caller:not(.partial) .text')].some((n) => n.textContent.includes(`+jsString(heard)+`))`)
		p.await(events.AgentSpeechEnded, 20*time.Second, nil)
		waitFor(fmt.Sprintf("turn %d in the latency waterfall", i+1), 5*time.Second,
			fmt.Sprintf(`document.querySelectorAll('#waterfall .wf-turn .wf-bar').length >= %d`, 3*(i+1)))
	}
	// The agent's replies are on the page too, and the header follows the state.
	waitFor("the agent's reply on the call page", 5*time.Second,
		`[...document.querySelectorAll('#transcript .line.agent .text')].some((n) => n.textContent.includes('Which day'))`)

	// The caller hangs up; the page shows the end, then the screenshot.
	if err := p.cl.Hangup(); err != nil {
		t.Fatalf("hanging up: %v", err)
	}
	waitFor("the call's end on the call page", 10*time.Second,
		`document.querySelector('#call-state')?.textContent === 'ended' && document.querySelector('#call-reason')?.textContent === 'caller_hangup'`)
	waitFor("call.ended in the events list", 5*time.Second, `!!document.querySelector('#events tr[data-type="call.ended"]')`)
	shot, err := chromedp.Run(bctx, chromedp.ScreenshotScale(chromedp.CSS("body"), 1))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveScreenshot(t, shot)

	// The ended call is in the recent list.
	do("the recent list", 10*time.Second,
		chromedp.Navigate(hs.URL+"/dashboard/#/recent"),
		chromedp.WaitVisible(chromedp.CSS(`#recent-calls tr[data-call=`+jsString(callID)+`]`)))

	// call.ended failed once and went to the DLQ; replay it from the page
	// once the receiver is back.
	ended := waitEvent(t, sub, callID, events.CallEnded)
	do("the DLQ view", 10*time.Second,
		chromedp.Navigate(hs.URL+"/dashboard/#/webhooks"),
		chromedp.WaitVisible(chromedp.CSS(`#endpoints tr[data-endpoint="crm"]`)))
	replay := `#dlq button[data-replay=` + jsString(ended.ID) + `]`
	waitFor("the dead letter in the DLQ view", 15*time.Second, `!!document.querySelector(`+jsString(replay)+`)`)
	rcv.mu.Lock()
	refused := append([]string(nil), rcv.refused...)
	rcv.mu.Unlock()
	if len(refused) != 1 || refused[0] != ended.ID {
		t.Fatalf("the receiver refused %v, want only call.ended %s", refused, ended.ID)
	}
	rcv.accept.Store(true)
	do("clicking Replay", 5*time.Second, chromedp.Click(chromedp.CSS(replay)))
	select {
	case id := <-rcv.delivered:
		if id != ended.ID {
			t.Fatalf("delivered %s after the replay, want %s", id, ended.ID)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the replayed event did not reach the receiver within 15 s")
	}
	waitFor("the replay's result and an empty DLQ", 10*time.Second,
		`document.querySelector('#replay-result')?.textContent.startsWith('Replayed 1 event') && !document.querySelector(`+jsString(replay)+`)`)
	if n := rcv.bad.Load(); n != 0 {
		t.Fatalf("%d webhook requests failed signature checks", n)
	}
	t.Logf("dashboard test took %s", time.Since(began).Round(time.Millisecond))
}

func randomToken(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "adm-" + hex.EncodeToString(b[:])
}

// waitEvent returns the call's first event of typ seen on sub.
func waitEvent(t *testing.T, sub *events.Subscription, callID, typ string) *events.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-sub.C():
			if !ok {
				t.Fatalf("event bus closed before %s", typ)
			}
			if e.CallID == callID && e.Type == typ {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s for call %s", typ, callID)
		}
	}
}

// saveScreenshot writes the call page's PNG to the test's directory and,
// when PARLEY_SCREENSHOT_DIR is set, to dashboard-call.png there (a relative
// directory is taken from the repository's root, not this package's).
func saveScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(png))
	}
	dirs := []string{t.TempDir()}
	if d := os.Getenv("PARLEY_SCREENSHOT_DIR"); d != "" {
		if !filepath.IsAbs(d) {
			d = filepath.Join("..", "..", d)
		}
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, "dashboard-call.png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("saving the screenshot: %v", err)
		}
		t.Logf("screenshot of the call page: %s (%d KiB)", path, len(png)>>10)
	}
}
