package twilio

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// wait bounds every wait of these tests; they assert outcomes, not speed.
const wait = 10 * time.Second

// fakeCall is a hand-written CallHandle: it records what the transport hands it
// and, like the real call, closes the Conn when it hangs up.
type fakeCall struct {
	conn *Conn

	mu     sync.Mutex
	frames [][]int16
	dtmf   []string
	marks  []string

	reason chan string
	once   sync.Once
	done   chan struct{}
}

func (c *fakeCall) ID() string { return "call_test" }
func (c *fakeCall) Audio(pcm []int16) {
	c.mu.Lock()
	c.frames = append(c.frames, pcm)
	c.mu.Unlock()
}
func (c *fakeCall) DTMF(d string) { c.mu.Lock(); c.dtmf = append(c.dtmf, d); c.mu.Unlock() }
func (c *fakeCall) Mark(n string) { c.mu.Lock(); c.marks = append(c.marks, n); c.mu.Unlock() }
func (c *fakeCall) Hangup(reason string) {
	c.once.Do(func() {
		c.reason <- reason
		_ = c.conn.Close(reason)
		close(c.done)
	})
}
func (c *fakeCall) Done() <-chan struct{} { return c.done }

func (c *fakeCall) waitReason(t *testing.T) string {
	t.Helper()
	select {
	case r := <-c.reason:
		return r
	case <-time.After(wait):
		t.Fatal("the call was never hung up")
		return ""
	}
}

// rig serves a Handler whose StartFunc hands out fakeCalls.
type rig struct {
	url   string
	reqs  chan StartRequest
	calls chan *fakeCall
}

func newRig(t *testing.T, h *Handler) *rig {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	r := &rig{reqs: make(chan StartRequest, 4), calls: make(chan *fakeCall, 4)}
	if h.Start == nil {
		h.Start = func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
			r.reqs <- req
			c := &fakeCall{conn: conn, reason: make(chan string, 1), done: make(chan struct{})}
			r.calls <- c
			return c, nil
		}
	}
	srv := httptest.NewServer(h)
	r.url = "ws" + strings.TrimPrefix(srv.URL, "http") + MediaPath
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		time.Sleep(50 * time.Millisecond)
		if err := goleak.Find(ignore, goleak.IgnoreTopFunction("time.Sleep")); err != nil {
			t.Error(err)
		}
	})
	return r
}

func (r *rig) call(t *testing.T) *fakeCall {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(wait):
		t.Fatal("no call started")
		return nil
	}
}

// twilioSide is the Twilio end of a media WebSocket, driven by the test.
type twilioSide struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialTwilio(t *testing.T, url string, hdr http.Header) *twilioSide {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return &twilioSide{t: t, ws: ws}
}

func (s *twilioSide) send(msg string) {
	s.t.Helper()
	if err := s.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		s.t.Fatalf("sending %s: %v", msg, err)
	}
}

// outMsg is a message Parley sent, decoded loosely for checks.
type outMsg struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
	Media     *struct {
		Payload string `json:"payload"`
	} `json:"media"`
	Mark *struct {
		Name string `json:"name"`
	} `json:"mark"`
	raw map[string]any
}

func (m outMsg) audio(t *testing.T) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(m.Media.Payload)
	if err != nil {
		t.Fatalf("media payload is not standard base64: %v", err)
	}
	return b
}

// next reads the next message Parley sent, or the close code.
func (s *twilioSide) next() (outMsg, int, error) {
	_ = s.ws.SetReadDeadline(time.Now().Add(wait))
	kind, data, err := s.ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if ok := asClose(err, &ce); ok {
			return outMsg{}, ce.Code, err
		}
		return outMsg{}, 0, err
	}
	if kind != websocket.TextMessage {
		s.t.Fatalf("Parley sent a binary message; Twilio only takes JSON text")
	}
	var m outMsg
	if err := json.Unmarshal(data, &m); err != nil {
		s.t.Fatalf("Parley sent invalid JSON %s: %v", data, err)
	}
	_ = json.Unmarshal(data, &m.raw)
	return m, 0, nil
}

func (s *twilioSide) expect(t *testing.T, event string) outMsg {
	t.Helper()
	m, code, err := s.next()
	if err != nil {
		t.Fatalf("want %s, got error %v (close %d)", event, err, code)
	}
	if m.Event != event {
		t.Fatalf("want %s, got %+v", event, m.raw)
	}
	return m
}

// closeCode reads until the server closes and returns its close code.
func (s *twilioSide) closeCode(t *testing.T) int {
	t.Helper()
	for {
		_, code, err := s.next()
		if err != nil {
			return code
		}
	}
}

func asClose(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	if ok {
		*ce = c
	}
	return ok
}

// readLines returns the messages of a testdata JSON-lines file.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
