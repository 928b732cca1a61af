package vonage

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
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

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// tone returns n samples of a 440 Hz sine at rate as little-endian PCM16.
func tone(n, rate int) ([]int16, []byte) {
	pcm := make([]int16, n)
	b := make([]byte, 2*n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(b[2*i:], uint16(pcm[i]))
	}
	return pcm, b
}
