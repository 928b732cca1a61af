package plivo

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
)

func TestHandlerRefusals(t *testing.T) {
	r := newRig(t, &Handler{StartTimeout: 300 * time.Millisecond})
	start := readLines(t, "stream_mulaw.jsonl")[0]
	for _, tc := range []struct {
		name, query string
		msgs        []string
		text        string
	}{
		{"no agent", "", []string{strings.Replace(start, "agent=demo;", "", 1)}, "no valid agent"},
		{"media first", "?agent=demo", []string{readLines(t, "stream_mulaw.jsonl")[1]}, "expected start first"},
		{"bad format", "?agent=demo", []string{strings.Replace(start, "audio/x-mulaw", "audio/x-alaw", 1)}, "is not supported"},
		{"nothing in time", "?agent=demo", nil, "reading the start message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := carriertest.Dial(t, r.url+tc.query)
			for _, m := range tc.msgs {
				c.Text(m)
			}
			if _, _, code, text := c.UntilClose(); code != websocket.ClosePolicyViolation || !strings.Contains(text, tc.text) {
				t.Fatalf("closed with %d %q; want 1008 containing %q", code, text, tc.text)
			}
		})
	}
}

func TestHandlerEndReasons(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      Handler
		act    func(c *carriertest.Client)
		reason string
	}{
		{"dropped", Handler{}, func(c *carriertest.Client) { c.WS.NetConn().Close() }, "transport_error"},
		{"silence", Handler{ReadTimeout: 200 * time.Millisecond}, func(*carriertest.Client) {}, "timeout"},
		{"oversized", Handler{MaxMessageBytes: 2048}, func(c *carriertest.Client) {
			c.Text(`{"event":"media","media":{"payload":"` + strings.Repeat("A", 4000) + `"}}`)
		}, "transport_error"},
		{"binary frames", Handler{MaxErrors: 2}, func(c *carriertest.Client) {
			c.Send(websocket.BinaryMessage, []byte{1})
			c.Send(websocket.BinaryMessage, []byte{2})
		}, "transport_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			r := newRig(t, &h)
			c := carriertest.Dial(t, r.url)
			c.Text(readLines(t, "stream_mulaw.jsonl")[0])
			call, _, _ := r.call(t)
			tc.act(c)
			if got := call.Reason(t); got != tc.reason {
				t.Fatalf("reason %q, want %q", got, tc.reason)
			}
		})
	}
}
