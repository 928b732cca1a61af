// Package carriertest holds the test doubles the carrier transports share: a
// hand-written call that records what the transport hands it, and a real
// httptest server with leak checks.
package carriertest

import (
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

// Wait bounds every wait of the tests; they assert outcomes, not speed.
const Wait = 20 * time.Second

// Closer is the part of a transport's Conn the fake call uses when it ends.
type Closer interface{ Close(reason string) error }

// Call is a hand-written CallHandle: it records what the transport hands it and,
// like the real call, closes the Conn when it hangs up.
type Call struct {
	conn Closer

	mu     sync.Mutex
	audio  []int16
	frames int
	sizes  map[int]int
	dtmf   []string
	marks  []string

	reason chan string
	once   sync.Once
	done   chan struct{}
	got    chan struct{} // one token per Audio, DTMF or Mark
}

// NewCall returns a Call ending through conn.
func NewCall(conn Closer) *Call {
	return &Call{conn: conn, sizes: map[int]int{}, reason: make(chan string, 1), done: make(chan struct{}), got: make(chan struct{}, 4096)}
}

// ID returns a fixed call id.
func (c *Call) ID() string { return "call_test" }

// Audio records one inbound frame.
func (c *Call) Audio(pcm []int16) {
	c.mu.Lock()
	c.audio = append(c.audio, pcm...)
	c.frames++
	c.sizes[len(pcm)]++
	c.mu.Unlock()
	c.poke()
}

// DTMF records a digit.
func (c *Call) DTMF(d string) { c.mu.Lock(); c.dtmf = append(c.dtmf, d); c.mu.Unlock(); c.poke() }

// Mark records a confirmed mark.
func (c *Call) Mark(n string) { c.mu.Lock(); c.marks = append(c.marks, n); c.mu.Unlock(); c.poke() }

func (c *Call) poke() {
	select {
	case c.got <- struct{}{}:
	default:
	}
}

// Hangup ends the call once, closing its Conn with reason.
func (c *Call) Hangup(reason string) {
	c.once.Do(func() {
		_ = c.conn.Close(reason)
		c.reason <- reason
		close(c.done)
	})
}

// Done is closed once the call has hung up.
func (c *Call) Done() <-chan struct{} { return c.done }

// Reason waits for the hang-up and returns its reason.
func (c *Call) Reason(t *testing.T) string {
	t.Helper()
	select {
	case r := <-c.reason:
		c.reason <- r
		return r
	case <-time.After(Wait):
		t.Fatal("the call was never hung up")
		return ""
	}
}

// WaitFor polls cond until it holds; cond reads the call through its
// accessors (Snapshot, Frames), which take the lock.
func (c *Call) WaitFor(t *testing.T, what string, cond func(c *Call) bool) {
	t.Helper()
	deadline := time.After(Wait)
	for {
		if cond(c) {
			return
		}
		select {
		case <-c.got:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Snapshot returns copies of what the call received.
func (c *Call) Snapshot() (audio []int16, frames int, sizes map[int]int, dtmf, marks []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sizes = map[int]int{}
	for k, v := range c.sizes {
		sizes[k] = v
	}
	return append([]int16(nil), c.audio...), c.frames, sizes, append([]string(nil), c.dtmf...), append([]string(nil), c.marks...)
}

// Frames returns the number of audio frames received (for WaitFor conditions).
func (c *Call) Frames() int { c.mu.Lock(); defer c.mu.Unlock(); return c.frames }

// Server serves h on a real socket and checks at cleanup that every handler and
// goroutine has finished. It returns the ws:// URL.
func Server(t *testing.T, h http.Handler) string {
	t.Helper()
	snapshot := goleak.IgnoreCurrent()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(Wait):
			t.Error("a handler is still running")
		}
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, snapshot)
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// Client is a fake carrier: a bare WebSocket client.
type Client struct {
	t  *testing.T
	WS *websocket.Conn
}

// Dial connects to url, failing the test on error.
func Dial(t *testing.T, url string) *Client {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: Wait}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dialing %s: %v", url, err)
	}
	t.Cleanup(func() { ws.Close() })
	return &Client{t: t, WS: ws}
}

// Send writes one message.
func (c *Client) Send(kind int, data []byte) {
	c.t.Helper()
	_ = c.WS.SetWriteDeadline(time.Now().Add(Wait))
	if err := c.WS.WriteMessage(kind, data); err != nil {
		c.t.Fatalf("sending: %v", err)
	}
}

// Text sends a text message.
func (c *Client) Text(s string) { c.t.Helper(); c.Send(websocket.TextMessage, []byte(s)) }

// Next reads the next message, or the error that ended the connection.
func (c *Client) Next() (kind int, data []byte, err error) {
	_ = c.WS.SetReadDeadline(time.Now().Add(Wait))
	return c.WS.ReadMessage()
}

// MustNext reads the next message, failing the test on error.
func (c *Client) MustNext() (int, []byte) {
	c.t.Helper()
	kind, data, err := c.Next()
	if err != nil {
		c.t.Fatalf("reading from the server: %v", err)
	}
	return kind, data
}

// UntilClose reads until the connection closes, returning the messages seen and
// the close code (-1 if the connection dropped without a close frame).
func (c *Client) UntilClose() (msgs [][]byte, kinds []int, code int, text string) {
	c.t.Helper()
	for {
		kind, data, err := c.Next()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return msgs, kinds, ce.Code, ce.Text
			}
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("the server did not close the connection within %v", Wait)
			}
			return msgs, kinds, -1, ""
		}
		msgs = append(msgs, data)
		kinds = append(kinds, kind)
	}
}
