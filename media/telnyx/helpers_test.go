package telnyx

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
	"github.com/parley-voice/parley/runtime/call"
)

// Compile-time checks: Conn is a call transport that tracks playback.
var (
	_ call.Conn            = (*Conn)(nil)
	_ call.PlaybackTracker = (*Conn)(nil)
	_ CallHandle           = (*carriertest.Call)(nil)
)

// rig serves a Handler whose calls are carriertest.Calls.
type rig struct {
	url   string
	calls chan *carriertest.Call
	conns chan *Conn
	reqs  chan StartRequest
}

func newRig(t *testing.T, h *Handler) *rig {
	t.Helper()
	r := &rig{calls: make(chan *carriertest.Call, 4), conns: make(chan *Conn, 4), reqs: make(chan StartRequest, 4)}
	if h.Logger == nil {
		h.Logger = slog.New(slog.DiscardHandler)
	}
	if h.Start == nil {
		h.Start = func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
			c := carriertest.NewCall(conn)
			r.reqs <- req
			r.conns <- conn
			r.calls <- c
			return c, nil
		}
	}
	r.url = carriertest.Server(t, h)
	return r
}

func (r *rig) call(t *testing.T) (*carriertest.Call, *Conn, StartRequest) {
	t.Helper()
	return <-r.calls, <-r.conns, <-r.reqs
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		if l := strings.TrimSpace(s.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// outMsg is a message Parley sent, decoded loosely to check its exact shape.
type outMsg struct {
	raw   map[string]json.RawMessage
	event string
	audio []byte // media payload, decoded
	name  string // mark name
}

func readOut(t *testing.T, c *carriertest.Client) outMsg {
	t.Helper()
	kind, data := c.MustNext()
	if kind != websocket.TextMessage {
		t.Fatalf("Parley sent a binary frame to Telnyx")
	}
	return decodeOut(t, data)
}

func decodeOut(t *testing.T, data []byte) outMsg {
	t.Helper()
	var m outMsg
	if err := json.Unmarshal(data, &m.raw); err != nil {
		t.Fatalf("Parley sent invalid JSON %q: %v", data, err)
	}
	_ = json.Unmarshal(m.raw["event"], &m.event)
	switch m.event {
	case "media":
		var md map[string]string
		if err := json.Unmarshal(m.raw["media"], &md); err != nil || len(md) != 1 || len(m.raw) != 2 {
			t.Fatalf("media message %s: want exactly {event, media{payload}}", data)
		}
		b, err := base64.StdEncoding.DecodeString(md["payload"])
		if err != nil {
			t.Fatalf("media payload is not base64: %v", err)
		}
		m.audio = b
	case "mark":
		var mk map[string]string
		if err := json.Unmarshal(m.raw["mark"], &mk); err != nil || len(mk) != 1 || mk["name"] == "" || len(m.raw) != 2 {
			t.Fatalf("mark message %s: want exactly {event, mark{name}}", data)
		}
		m.name = mk["name"]
	case "clear":
		if len(m.raw) != 1 {
			t.Fatalf("clear message %s: want exactly {event}", data)
		}
	default:
		t.Fatalf("unexpected message from Parley: %s", data)
	}
	return m
}
