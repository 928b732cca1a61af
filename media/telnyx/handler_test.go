package telnyx

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
)

const startMsg = `{"event":"start","sequence_number":"1","stream_id":"s1","start":{"call_control_id":"v3:abc","from":"+1555","to":"+1666","custom_parameters":{"agent":"sales"},"media_format":{"encoding":"PCMU","sample_rate":8000,"channels":1}}}`

// refusedWith dials, sends msgs and returns the close code and text.
func refusedWith(t *testing.T, url string, msgs ...string) (int, string) {
	t.Helper()
	c := carriertest.Dial(t, url)
	for _, m := range msgs {
		c.Text(m)
	}
	_, _, code, text := c.UntilClose()
	return code, text
}

func TestHandlerAgentChoice(t *testing.T) {
	// Query parameter wins over the custom parameter.
	r := newRig(t, &Handler{})
	c := carriertest.Dial(t, r.url+"?agent=demo")
	c.Text(startMsg)
	call, _, req := r.call(t)
	if req.Agent != "demo" || req.Metadata["agent"] != "sales" || req.CallID != "v3:abc" {
		t.Fatalf("request %+v", req)
	}
	c.Text(`{"event":"stop"}`)
	c.UntilClose()
	call.Reason(t)

	// Without a query parameter, the custom parameter "agent".
	c = carriertest.Dial(t, r.url)
	c.Text(startMsg)
	call, _, req = r.call(t)
	if req.Agent != "sales" {
		t.Fatalf("agent %q, want sales", req.Agent)
	}
	c.Text(`{"event":"stop"}`)
	c.UntilClose()
	call.Reason(t)

	// A {agent} path value.
	mux := http.NewServeMux()
	h := &Handler{}
	r2 := newRig(t, h)
	_ = r2
	mux.Handle("GET /media/{agent}", h)
	url := carriertest.Server(t, mux)
	c = carriertest.Dial(t, url+"/media/support")
	c.Text(startMsg)
	call, _, req = r2.call(t)
	if req.Agent != "support" {
		t.Fatalf("agent %q, want support", req.Agent)
	}
	c.Text(`{"event":"stop"}`)
	c.UntilClose()
	call.Reason(t)
}

func TestHandlerRefusals(t *testing.T) {
	r := newRig(t, &Handler{StartTimeout: 300 * time.Millisecond})
	for _, tc := range []struct {
		name, query string
		msgs        []string
		code        int
		text        string
	}{
		{"no agent", "", []string{strings.Replace(startMsg, `"agent":"sales"`, `"x":"y"`, 1)}, websocket.ClosePolicyViolation, "no valid agent"},
		{"bad agent", "?agent=Bad!", []string{startMsg}, websocket.ClosePolicyViolation, "no valid agent"},
		{"unsupported codec", "?agent=demo", []string{strings.Replace(startMsg, "PCMU", "OPUS", 1)}, websocket.ClosePolicyViolation, `"OPUS" is not supported`},
		{"media before start", "?agent=demo", []string{`{"event":"connected","version":"1.0.0"}`, `{"event":"media","media":{"payload":""}}`}, websocket.ClosePolicyViolation, "expected connected or start"},
		{"not JSON", "?agent=demo", []string{`hello`}, websocket.ClosePolicyViolation, "must be a JSON object"},
		{"no start in time", "?agent=demo", []string{`{"event":"connected","version":"1.0.0"}`}, websocket.ClosePolicyViolation, "reading the start message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, text := refusedWith(t, r.url+tc.query, tc.msgs...)
			if code != tc.code || !strings.Contains(text, tc.text) {
				t.Fatalf("closed with %d %q; want %d containing %q", code, text, tc.code, tc.text)
			}
		})
	}
	select {
	case <-r.calls:
		t.Fatal("a refused stream started a call")
	default:
	}
}

func TestHandlerAuthenticate(t *testing.T) {
	h := &Handler{Authenticate: func(r *http.Request) error {
		if r.URL.Query().Get("token") != "good" {
			return errors.New("bad or expired token")
		}
		return nil
	}}
	r := newRig(t, h)
	d := websocket.Dialer{HandshakeTimeout: carriertest.Wait}
	_, resp, err := d.Dial(r.url+"?agent=demo&token=bad", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial with a bad token: %v, %v; want 401", resp, err)
	}
	resp.Body.Close()
	c := carriertest.Dial(t, r.url+"?agent=demo&token=good")
	c.Text(startMsg)
	call, _, _ := r.call(t)
	c.Text(`{"event":"stop"}`)
	c.UntilClose()
	call.Reason(t)
}

func TestHandlerStartRefused(t *testing.T) {
	h := &Handler{Start: func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
		return nil, &RefusalError{Code: "capacity", CloseCode: websocket.CloseTryAgainLater, Err: errors.New("too many calls")}
	}}
	r := newRig(t, h)
	if code, text := refusedWith(t, r.url+"?agent=demo", startMsg); code != websocket.CloseTryAgainLater || text != "capacity" {
		t.Fatalf("closed with %d %q; want 1013 capacity", code, text)
	}
}

// TestHandlerEndReasons: every way the socket ends gives the call a reason.
func TestHandlerEndReasons(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      Handler
		act    func(c *carriertest.Client, call *carriertest.Call)
		reason string
		code   int // close code the carrier sees; 0: not checked
	}{
		{"stop", Handler{}, func(c *carriertest.Client, _ *carriertest.Call) { c.Text(`{"event":"stop"}`) }, "caller_hangup", 1000},
		{"carrier closes", Handler{}, func(c *carriertest.Client, _ *carriertest.Call) {
			_ = c.WS.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
		}, "caller_hangup", 1000},
		{"dropped connection", Handler{}, func(c *carriertest.Client, _ *carriertest.Call) { c.WS.NetConn().Close() }, "transport_error", 0},
		{"read timeout", Handler{ReadTimeout: 200 * time.Millisecond}, func(*carriertest.Client, *carriertest.Call) {}, "timeout", 1000},
		{"oversized message", Handler{MaxMessageBytes: 1024}, func(c *carriertest.Client, _ *carriertest.Call) {
			c.Text(`{"event":"media","media":{"payload":"` + strings.Repeat("A", 2000) + `"}}`)
		}, "transport_error", websocket.CloseMessageTooBig},
		{"too many protocol errors", Handler{MaxErrors: 3}, func(c *carriertest.Client, _ *carriertest.Call) {
			c.Text(`{"event":"nonsense"}`)
			c.Send(websocket.BinaryMessage, []byte{1, 2, 3})
			c.Text(`{"event":"dtmf","dtmf":{"digit":"x"}}`)
		}, "transport_error", websocket.ClosePolicyViolation},
		{"agent hangs up", Handler{}, func(_ *carriertest.Client, call *carriertest.Call) { call.Hangup("agent_hangup") }, "agent_hangup", 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			r := newRig(t, &h)
			c := carriertest.Dial(t, r.url+"?agent=demo")
			c.Text(startMsg)
			call, _, _ := r.call(t)
			tc.act(c, call)
			if tc.code != 0 {
				if _, _, code, _ := c.UntilClose(); code != tc.code {
					t.Errorf("close code %d, want %d", code, tc.code)
				}
			}
			if got := call.Reason(t); got != tc.reason {
				t.Fatalf("reason %q, want %q", got, tc.reason)
			}
		})
	}
}

// TestHandlerSurvivesBadMessages: a few bad frames are logged and skipped; the
// call goes on.
func TestHandlerSurvivesBadMessages(t *testing.T) {
	r := newRig(t, &Handler{})
	c := carriertest.Dial(t, r.url+"?agent=demo")
	c.Text(startMsg)
	call, _, _ := r.call(t)
	c.Text(`{"event":"nonsense"}`)
	c.Text(`{"event":"media","media":{"payload":"***"}}`)
	c.Send(websocket.BinaryMessage, []byte{0xff})
	c.Text(`{"event":"start","start":{}}`)
	c.Text(`{"event":"dtmf","dtmf":{"digit":"9"}}`)
	call.WaitFor(t, "dtmf", func(c *carriertest.Call) bool { _, _, _, d, _ := c.Snapshot(); return len(d) == 1 })
	c.Text(`{"event":"stop"}`)
	c.UntilClose()
	if got := call.Reason(t); got != "caller_hangup" {
		t.Fatalf("reason %q", got)
	}
}
