package plivo

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
	"github.com/parley-voice/parley/runtime/call"
)

// Compile-time checks: Conn is a call transport that tracks playback.
var (
	_ call.Conn            = (*Conn)(nil)
	_ call.PlaybackTracker = (*Conn)(nil)
	_ CallHandle           = (*carriertest.Call)(nil)
)

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

func readLines(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
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
