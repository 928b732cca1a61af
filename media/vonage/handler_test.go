package vonage

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
)

func TestHandlerRefusals(t *testing.T) {
	r := newRig(t, &Handler{StartTimeout: 300 * time.Millisecond})
	noAgent := strings.Replace(fixture(t, "connected.json"), `"agent":"demo",`, "", 1)
	for _, tc := range []struct {
		name, query string
		send        func(c *carriertest.Client)
		code        int
		text        string
	}{
		{"no agent", "", func(c *carriertest.Client) { c.Text(noAgent) }, websocket.ClosePolicyViolation, "no valid agent"},
		{"audio first", "?agent=demo", func(c *carriertest.Client) { c.Send(websocket.BinaryMessage, make([]byte, 640)) }, websocket.ClosePolicyViolation, "audio before"},
		{"other event first", "?agent=demo", func(c *carriertest.Client) { c.Text(fixture(t, "dtmf.json")) }, websocket.ClosePolicyViolation, "expected websocket:connected"},
		{"bad content-type", "?agent=demo", func(c *carriertest.Client) {
			c.Text(strings.Replace(noAgent, "rate=16000", "rate=11025", 1))
		}, websocket.ClosePolicyViolation, "rate must be"},
		{"nothing in time", "?agent=demo", func(*carriertest.Client) {}, websocket.ClosePolicyViolation, "reading websocket:connected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := carriertest.Dial(t, r.url+tc.query)
			tc.send(c)
			if _, _, code, text := c.UntilClose(); code != tc.code || !strings.Contains(text, tc.text) {
				t.Fatalf("closed with %d %q; want %d containing %q", code, text, tc.code, tc.text)
			}
		})
	}
}

// TestHandlerEndReasons: a Vonage call ends only by the socket; how it ends
// picks the reason.
func TestHandlerEndReasons(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      Handler
		act    func(c *carriertest.Client)
		reason string
	}{
		{"close 1000", Handler{}, func(c *carriertest.Client) {
			_ = c.WS.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		}, "caller_hangup"},
		{"close 1011", Handler{}, func(c *carriertest.Client) {
			_ = c.WS.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, ""))
		}, "transport_error"},
		{"dropped", Handler{}, func(c *carriertest.Client) { c.WS.NetConn().Close() }, "transport_error"},
		{"silence", Handler{ReadTimeout: 200 * time.Millisecond}, func(*carriertest.Client) {}, "timeout"},
		{"oversized frame", Handler{MaxMessageBytes: 4096}, func(c *carriertest.Client) { c.Send(websocket.BinaryMessage, make([]byte, 5000)) }, "transport_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			r := newRig(t, &h)
			c := carriertest.Dial(t, r.url)
			c.Text(fixture(t, "connected.json"))
			call, _, _ := r.call(t)
			tc.act(c)
			if got := call.Reason(t); got != tc.reason {
				t.Fatalf("reason %q, want %q", got, tc.reason)
			}
		})
	}
}

// TestHandlerOddAudioFrames: frames of any size, odd ones included, reach the
// call as whole 20 ms frames in order.
func TestHandlerOddAudioFrames(t *testing.T) {
	r := newRig(t, &Handler{})
	c := carriertest.Dial(t, r.url)
	c.Text(fixture(t, "connected.json"))
	call, _, _ := r.call(t)
	pcm, raw := tone(3200, 16000)
	for off, i := 0, 0; off < len(raw); i++ {
		n := min([]int{1, 639, 3, 1280, 7}[i%5], len(raw)-off)
		c.Send(websocket.BinaryMessage, raw[off:off+n])
		off += n
	}
	call.WaitFor(t, "10 frames", func(c *carriertest.Call) bool { return c.Frames() == 10 })
	audio, _, sizes, _, _ := call.Snapshot()
	if sizes[320] != 10 {
		t.Fatalf("sizes %v", sizes)
	}
	for i := range pcm {
		if audio[i] != pcm[i] {
			t.Fatalf("sample %d = %d, want %d", i, audio[i], pcm[i])
		}
	}
	_ = c.WS.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	c.UntilClose()
	call.Reason(t)
}
