package native

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// wait bounds every wait of these tests; they assert outcomes, not speed.
const wait = 20 * time.Second

// fakeCall is a hand-written CallHandle: it records what the transport hands it
// and, like the real call, closes the Conn when it hangs up. With pump set it
// writes agent audio continuously, as a call speaking a long greeting does.
type fakeCall struct {
	id   string
	conn *Conn

	mu     sync.Mutex
	audio  []int16
	frames int
	sizes  map[int]int
	dtmf   []string
	marks  []string

	reason   chan string // the first hang-up reason
	once     sync.Once
	done     chan struct{}
	stopPump chan struct{}
	pumpWG   sync.WaitGroup
	pumped   chan struct{} // closed after the first pumped frame was written
}

func newFakeCall(conn *Conn, pump bool) *fakeCall {
	c := &fakeCall{id: "call_test", conn: conn, sizes: map[int]int{}, reason: make(chan string, 1),
		done: make(chan struct{}), stopPump: make(chan struct{}), pumped: make(chan struct{})}
	if pump {
		c.pumpWG.Add(1)
		go c.pump()
	}
	return c
}

func (c *fakeCall) pump() {
	defer c.pumpWG.Done()
	frame := make([]int16, 320)
	for i := range frame {
		frame[i] = int16(i)
	}
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	first := true
	for {
		select {
		case <-c.stopPump:
			return
		case <-t.C:
		}
		if c.conn.WriteFrame(frame) != nil {
			continue
		}
		if first {
			close(c.pumped)
			first = false
		}
	}
}

func (c *fakeCall) ID() string { return c.id }

func (c *fakeCall) Audio(pcm []int16) {
	c.mu.Lock()
	c.audio = append(c.audio, pcm...)
	c.frames++
	c.sizes[len(pcm)]++
	c.mu.Unlock()
}

func (c *fakeCall) DTMF(d string) { c.mu.Lock(); c.dtmf = append(c.dtmf, d); c.mu.Unlock() }
func (c *fakeCall) Mark(n string) { c.mu.Lock(); c.marks = append(c.marks, n); c.mu.Unlock() }

func (c *fakeCall) Hangup(reason string) {
	c.once.Do(func() {
		close(c.stopPump)
		c.pumpWG.Wait()
		_ = c.conn.Close(reason)
		c.reason <- reason
		close(c.done)
	})
}

func (c *fakeCall) Done() <-chan struct{} { return c.done }

func (c *fakeCall) waitReason(t *testing.T) string {
	t.Helper()
	select {
	case r := <-c.reason:
		c.reason <- r
		return r
	case <-time.After(wait):
		t.Fatal("the call was never hung up")
		return ""
	}
}

// rig is a Handler served on a real socket, recording the calls it starts.
type rig struct {
	t     *testing.T
	h     *Handler
	srv   *httptest.Server
	url   string
	calls chan *fakeCall
	reqs  chan StartRequest
	wg    sync.WaitGroup // ServeHTTP calls in flight
}

// newRig serves h (with Start set to make fakeCalls unless already set) and
// checks at cleanup that every handler and goroutine has finished.
func newRig(t *testing.T, h *Handler, pump bool) *rig {
	t.Helper()
	snapshot := goleak.IgnoreCurrent()
	r := &rig{t: t, h: h, calls: make(chan *fakeCall, 16), reqs: make(chan StartRequest, 16)}
	if h.Start == nil {
		h.Start = func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
			c := newFakeCall(conn, pump)
			r.reqs <- req
			r.calls <- c
			return c, nil
		}
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.wg.Add(1)
		defer r.wg.Done()
		h.ServeHTTP(w, req)
	}))
	r.url = "ws" + strings.TrimPrefix(r.srv.URL, "http")
	t.Cleanup(func() {
		r.srv.Close()
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(wait):
			t.Error("a handler is still running")
		}
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, snapshot)
	})
	return r
}

func (r *rig) call() *fakeCall {
	r.t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(wait):
		r.t.Fatal("no call was started")
		return nil
	}
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

func (c *raw) text(s string) { c.t.Helper(); c.send(websocket.TextMessage, []byte(s)) }

// serverMsg is any JSON message from the server.
type serverMsg struct {
	Type    string          `json:"type"`
	CallID  string          `json:"call_id"`
	Agent   string          `json:"agent"`
	Rate    int             `json:"sample_rate"`
	Enc     string          `json:"encoding"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Reason  string          `json:"reason"`
	Event   json.RawMessage `json:"event"`
}

// next reads the next message: a JSON message, the size of a binary one, or the
// close error.
func (c *raw) next() (msg serverMsg, binary int, err error) {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	kind, data, err := c.ws.ReadMessage()
	if err != nil {
		return serverMsg{}, 0, err
	}
	if kind == websocket.BinaryMessage {
		return serverMsg{}, len(data), nil
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		c.t.Fatalf("server sent invalid JSON %q: %v", data, err)
	}
	return msg, 0, nil
}

// start sends a start message and reads the started answer.
func (c *raw) start(agent string) serverMsg {
	c.t.Helper()
	c.text(`{"type":"start","agent":"` + agent + `"}`)
	m, n, err := c.next()
	if err != nil || n > 0 || m.Type != TypeStarted {
		c.t.Fatalf("answer to start: %+v, %d binary bytes, %v; want started first", m, n, err)
	}
	return m
}

// untilClose reads until the connection closes, returning the JSON messages seen
// and the close code (-1 if the connection dropped without a close frame).
func (c *raw) untilClose() (msgs []serverMsg, frames int, code int) {
	c.t.Helper()
	for {
		m, n, err := c.next()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return msgs, frames, ce.Code
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("the server did not close the connection within %v", wait)
			}
			return msgs, frames, -1
		}
		if n > 0 {
			frames++
			continue
		}
		msgs = append(msgs, m)
	}
}

func findMsg(msgs []serverMsg, typ string) (serverMsg, bool) {
	for _, m := range msgs {
		if m.Type == typ {
			return m, true
		}
	}
	return serverMsg{}, false
}
