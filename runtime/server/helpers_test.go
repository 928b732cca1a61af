package server_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// wait bounds every wait: the tests assert order and outcome, not speed, and must
// pass on a loaded machine.
const wait = 30 * time.Second

// testAgent uses the fake providers: the recogniser hears "hello" in any
// utterance, the synthesiser makes 60 ms of tone per character, and the LLM
// answers "You said: hello.". The greeting is short (9 frames) so tests can
// speak soon after it.
const testAgent = `id: test
name: Test agent
greeting: Hi.
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: fake}
`

// parseAgent parses an agent config as `parley validate` would.
func parseAgent(t *testing.T, yaml string) *agents.Config {
	t.Helper()
	a, err := agents.Parse("test.yaml", []byte(yaml), os.LookupEnv)
	if err != nil {
		t.Fatalf("parsing the test agent: %v", err)
	}
	return a
}

// testServer is a Server on a real socket, with every event of its bus recorded.
type testServer struct {
	t   *testing.T
	srv *server.Server
	hs  *httptest.Server
	url string // ws://…/v1/ws

	mu      sync.Mutex
	ended   map[string]string // call id → call.ended reason
	changed chan struct{}     // closed (and replaced) on each call.ended
}

func newTestServer(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	snapshot := goleak.IgnoreCurrent()
	if cfg.Agents == nil {
		cfg.Agents = append(cfg.Agents, parseAgent(t, testAgent))
	}
	if cfg.Providers == nil {
		cfg.Providers = &server.Providers{FakeSTT: &fake.STT{Text: "hello"}, FakeTTS: &fake.TTS{}, FakeLLM: &fake.LLM{}}
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts := &testServer{t: t, srv: srv, ended: map[string]string{}, changed: make(chan struct{})}
	sub := srv.Bus().Subscribe(1<<16, "", events.CallEnded)
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for e := range sub.C() {
			reason, _ := e.Payload.(map[string]any)["reason"].(string)
			ts.mu.Lock()
			ts.ended[e.CallID] = reason
			close(ts.changed)
			ts.changed = make(chan struct{})
			ts.mu.Unlock()
		}
	}()
	var handlers sync.WaitGroup
	h := srv.Handler()
	ts.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		h.ServeHTTP(w, r)
	}))
	ts.url = "ws" + strings.TrimPrefix(ts.hs.URL, "http") + "/v1/ws"
	t.Cleanup(func() {
		// Every call must end on its own once its caller has gone.
		deadline := time.Now().Add(wait)
		for srv.LiveCalls() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := srv.LiveCalls(); n > 0 {
			t.Errorf("%d calls still live at the end of the test", n)
		}
		ts.hs.Close()
		done := make(chan struct{})
		go func() { handlers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("a WebSocket handler is still running")
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		srv.Shutdown(ctx)
		<-subDone
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, snapshot)
	})
	return ts
}

// endReason waits for call.ended of the call and returns its reason.
func (ts *testServer) endReason(callID string) string {
	ts.t.Helper()
	deadline := time.After(wait)
	for {
		ts.mu.Lock()
		r, ok := ts.ended[callID]
		changed := ts.changed
		ts.mu.Unlock()
		if ok {
			return r
		}
		select {
		case <-changed:
		case <-deadline:
			ts.t.Fatalf("call %s did not end", callID)
			return ""
		}
	}
}

// phone is a caller on native.Client that records what the server sends.
type phone struct {
	t  *testing.T
	cl *native.Client

	mu       sync.Mutex
	evs      []native.ClientEvent
	frames   int
	badSizes int
	errs     []string // "code: message"
	stops    []string
	clears   int
	signal   chan struct{} // something arrived
}

func dial(t *testing.T, url string, header http.Header, start native.Control) (*phone, error) {
	t.Helper()
	p := &phone{t: t, signal: make(chan struct{}, 1)}
	poke := func() {
		select {
		case p.signal <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cl, err := native.Dial(ctx, url, header, start, native.ClientHandler{
		OnAudio: func(pcm []int16, at time.Time) {
			p.mu.Lock()
			p.frames++
			if len(pcm) != 320 { // 640 bytes
				p.badSizes++
			}
			p.mu.Unlock()
			poke()
		},
		OnEvent: func(e native.ClientEvent) { p.mu.Lock(); p.evs = append(p.evs, e); p.mu.Unlock(); poke() },
		OnError: func(code, msg string) { p.mu.Lock(); p.errs = append(p.errs, code+": "+msg); p.mu.Unlock(); poke() },
		OnStop:  func(reason string) { p.mu.Lock(); p.stops = append(p.stops, reason); p.mu.Unlock(); poke() },
		OnClear: func(time.Time) { p.mu.Lock(); p.clears++; p.mu.Unlock(); poke() },
	})
	if err != nil {
		return nil, err
	}
	p.cl = cl
	t.Cleanup(func() { cl.Close() })
	return p, nil
}

func mustDial(t *testing.T, ts *testServer) *phone {
	t.Helper()
	p, err := dial(t, ts.url, nil, native.Control{Agent: "test", From: "+15550100", To: "+15550199"})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return p
}

// until waits for cond, checked each time something arrives from the server.
func (p *phone) until(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.After(wait)
	for {
		p.mu.Lock()
		ok := cond()
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-p.signal:
		case <-p.cl.Done():
			p.mu.Lock()
			ok := cond()
			p.mu.Unlock()
			if !ok {
				p.t.Fatalf("connection closed (%v) while waiting for %s", p.cl.Err(), what)
			}
			return
		case <-deadline:
			p.mu.Lock()
			var seen []string
			for _, e := range p.evs {
				seen = append(seen, fmt.Sprintf("%s%v", e.Type, e.Payload))
			}
			p.mu.Unlock()
			p.t.Fatalf("no %s within %v; events so far:\n%s", what, wait, strings.Join(seen, "\n"))
		}
	}
}

// event waits for an event of type typ, after the first skip ones of that type,
// matching pred (nil: any), and returns it.
func (p *phone) event(typ string, pred func(native.ClientEvent) bool) native.ClientEvent {
	p.t.Helper()
	var found native.ClientEvent
	p.until("event "+typ, func() bool {
		for _, e := range p.evs {
			if e.Type == typ && (pred == nil || pred(e)) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func (p *phone) count(typ string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func (p *phone) framesSoFar() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames
}

// awaitListening waits until the greeting has been spoken and the agent listens.
func (p *phone) awaitListening() {
	p.t.Helper()
	p.event(events.CallStateChanged, func(e native.ClientEvent) bool { return e.Payload["to"] == "listening" })
}

// hangUp sends stop and checks the call ends normally: a stop message with
// caller_hangup, then close 1000.
func (p *phone) hangUp() {
	p.t.Helper()
	if err := p.cl.Hangup(); err != nil {
		p.t.Fatalf("sending stop: %v", err)
	}
	select {
	case <-p.cl.Done():
	case <-time.After(wait):
		p.t.Fatal("the server did not close the connection after stop")
	}
	if err := p.cl.Err(); err != nil {
		p.t.Errorf("connection ended with %v, want close 1000", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if fmt.Sprint(p.stops) != "[caller_hangup]" {
		p.t.Errorf("stop messages %v, want [caller_hangup]", p.stops)
	}
}

// closeCode waits for the connection to close and returns its close code.
func (p *phone) closeCode() int {
	p.t.Helper()
	select {
	case <-p.cl.Done():
	case <-time.After(wait):
		p.t.Fatal("the connection did not close")
	}
	err := p.cl.Err()
	if err == nil {
		return websocket.CloseNormalClosure
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	p.t.Fatalf("connection dropped without a close frame: %v", err)
	return 0
}

// utterance is speech as the fake recogniser needs it: silence, one second of a
// 440 Hz tone, then enough silence to end the turn. The silence is a constant
// 64 (-54 dBFS, below the VAD's floor): read one byte off, it would become
// 16384, loud enough to be speech, so a single lost byte changes the outcome.
func utterance() []byte {
	const rate = 16000
	var pcm []int16
	for range rate / 2 {
		pcm = append(pcm, 64)
	}
	for i := range rate {
		pcm = append(pcm, int16(8000*math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	for range rate {
		pcm = append(pcm, 64)
	}
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

// speak sends the utterance in pieces of the given size.
func (p *phone) speak(piece int) {
	p.t.Helper()
	b := utterance()
	for off := 0; off < len(b); off += piece {
		if err := p.cl.SendRaw(websocket.BinaryMessage, b[off:min(off+piece, len(b))]); err != nil {
			p.t.Fatalf("sending audio: %v", err)
		}
	}
}

// keepTalking streams quiet frames in real time, as a phone line does, until the
// returned function is called.
func (p *phone) keepTalking() (stop func()) {
	frame := make([]byte, 640)
	for i := 0; i < len(frame); i += 2 {
		binary.LittleEndian.PutUint16(frame[i:], 64)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if p.cl.SendRaw(websocket.BinaryMessage, frame) != nil {
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }); <-finished }
}

// raw is a bare WebSocket client for what native.Client will not send.
type raw struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialRaw(t *testing.T, url string) *raw {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dialing %s: %v", url, err)
	}
	t.Cleanup(func() { ws.Close() })
	return &raw{t: t, ws: ws}
}

func (c *raw) send(kind int, data []byte) {
	c.t.Helper()
	_ = c.ws.SetWriteDeadline(time.Now().Add(wait))
	if err := c.ws.WriteMessage(kind, data); err != nil {
		c.t.Fatalf("sending: %v", err)
	}
}

type serverMsg struct {
	Type    string `json:"type"`
	CallID  string `json:"call_id"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
}

// untilClose reads until the server closes, returning the JSON messages and the
// close code (-1: dropped without a close frame).
func (c *raw) untilClose() ([]serverMsg, int) {
	c.t.Helper()
	var msgs []serverMsg
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(wait))
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return msgs, ce.Code
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("the server did not close the connection")
			}
			return msgs, -1
		}
		if kind == websocket.TextMessage {
			var m serverMsg
			if err := json.Unmarshal(data, &m); err != nil {
				c.t.Fatalf("invalid JSON from the server: %q", data)
			}
			msgs = append(msgs, m)
		}
	}
}

// refusal reads until close and returns the one error message and the close code.
func (c *raw) refusal() (serverMsg, int) {
	c.t.Helper()
	msgs, code := c.untilClose()
	for _, m := range msgs {
		if m.Type == native.TypeError {
			return m, code
		}
	}
	c.t.Fatalf("no error message before close %d (got %+v)", code, msgs)
	return serverMsg{}, code
}
