package webrtc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/runtime/events"
)

// TestCallBothWays negotiates a real peer connection over HTTP and checks
// audio in both directions, events to the page and messages from it.
func TestCallBothWays(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, nil)
	cl := newClient(t)
	res, answer := f.post(t, "demo", "application/sdp", cl.offer(t), nil)
	if res.StatusCode != http.StatusCreated || res.Header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("status %d %q: %s", res.StatusCode, res.Header.Get("Content-Type"), answer)
	}
	if res.Header.Get("X-Parley-Call-Id") != "call_test" {
		t.Errorf("call id header %q", res.Header.Get("X-Parley-Call-Id"))
	}
	if !strings.Contains(answer, "a=candidate:") || !strings.Contains(answer, "PCMU/8000") {
		t.Fatalf("answer lacks candidates or PCMU:\n%s", answer)
	}
	call := within(t, f.calls, time.Second, "call")
	defer call.end("test_over")
	cl.accept(t, answer)

	// Caller audio: 8 kHz tone in, 20 ms frames of 16 kHz PCM out to the call.
	cl.speak(50, 440)
	var loud int
	for range 40 {
		fr := within(t, call.audio, 5*time.Second, "caller frame")
		if len(fr) != 320 {
			t.Fatalf("frame of %d samples, want 320", len(fr))
		}
		if rms(fr) > 2000 {
			loud++
		}
	}
	if loud < 30 {
		t.Errorf("only %d of 40 caller frames carry the tone", loud)
	}

	// Agent audio: WriteFrame at 16 kHz becomes 160-byte PCMU packets.
	tone := make([]int16, 320)
	for i := range tone {
		tone[i] = int16(6000 * ((i/16)%2*2 - 1)) // 500 Hz square wave
	}
	for range 25 {
		if err := call.conn.WriteFrame(tone); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		p := within(t, cl.packets, 5*time.Second, "agent packet")
		if p.PayloadType != 0 || len(p.Payload) != 160 {
			t.Fatalf("packet PT %d with %d bytes, want PCMU 160", p.PayloadType, len(p.Payload))
		}
	}
	p := within(t, cl.packets, 5*time.Second, "agent packet")
	if r := rms(codec.DecodeMulaw(nil, p.Payload)); r < 2000 {
		t.Errorf("agent audio arrived with rms %.0f, want the tone", r)
	}

	// Events to the page as {type, payload}.
	within(t, cl.open, 5*time.Second, "data channel open")
	call.conn.Notify(&events.Event{Type: events.SpeechTranscribed, CallID: "call_test", Sequence: 7,
		Timestamp: time.Now(), Payload: map[string]any{"text": "hello"}})
	m := within(t, cl.messages, 5*time.Second, "event message")
	if m["type"] != events.SpeechTranscribed || m["payload"].(map[string]any)["text"] != "hello" || m["sequence"] != float64(7) {
		t.Errorf("event message %v", m)
	}

	// Messages from the page.
	cl.send(t, map[string]any{"type": "dtmf", "digit": "5"})
	if d := within(t, call.dtmf, 5*time.Second, "dtmf"); d != "5" {
		t.Errorf("dtmf %q", d)
	}
	cl.send(t, map[string]any{"type": "stats", "stats": map[string]any{"packets_received": 42, "audio_level": 0.5}})
	if r := within(t, f.reports, 5*time.Second, "report"); r.PacketsReceived != 42 || r.AudioLevel != 0.5 {
		t.Errorf("report %+v", r)
	}
	cl.send(t, map[string]any{"type": "nonsense"}) // ignored
	cl.send(t, map[string]any{"type": "hangup"})
	if r := within(t, call.hangups, 5*time.Second, "hangup"); r != "caller_hangup" {
		t.Errorf("hangup reason %q, want caller_hangup", r)
	}

	// The call ends: call.ended still reaches the page before the close.
	call.conn.Notify(&events.Event{Type: events.CallEnded, CallID: "call_test", Timestamp: time.Now(),
		Payload: map[string]any{"reason": "caller_hangup"}})
	call.end("caller_hangup")
	m = within(t, cl.messages, 5*time.Second, "call.ended message")
	if m["type"] != events.CallEnded {
		t.Errorf("last message %v, want call.ended", m)
	}
	if err := call.conn.WriteFrame(tone); !errors.Is(err, ErrClosed) {
		t.Errorf("WriteFrame after Close: %v, want ErrClosed", err)
	}
}

// TestPeerGoneEndsCall: a browser that closes its peer connection ends the call.
func TestPeerGoneEndsCall(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, nil)
	cl := newClient(t)
	res, answer := f.post(t, "demo", "application/sdp", cl.offer(t), nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", res.StatusCode, answer)
	}
	call := within(t, f.calls, time.Second, "call")
	defer call.end("test_over")
	cl.accept(t, answer)
	within(t, cl.open, 5*time.Second, "data channel open")
	cl.close()
	r := within(t, call.hangups, 15*time.Second, "hangup")
	if r != "caller_hangup" && r != "transport_error" {
		t.Errorf("hangup reason %q", r)
	}
	t.Logf("closed peer: %s", r)
}

// TestNeverConnectsEndsCall: an answer nobody uses ends with transport_error.
func TestNeverConnectsEndsCall(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, func(h *Handler) { h.ConnectTimeout = 300 * time.Millisecond })
	cl := newClient(t)
	res, body := f.post(t, "demo", "application/sdp", cl.offer(t), nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	call := within(t, f.calls, time.Second, "call")
	defer call.end("test_over")
	if r := within(t, call.hangups, 5*time.Second, "hangup"); r != "transport_error" {
		t.Errorf("hangup reason %q, want transport_error", r)
	}
}

const noAudioOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"

const g722OnlyOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 9\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:9 G722/8000\r\n"

const opusOnlyOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"

// TestRefusals: each bad request gets a clear status, code and message, and
// no call is started.
func TestRefusals(t *testing.T) {
	checkLeaks(t)
	refuse := errors.New("no")
	f := newFixture(t, func(h *Handler) {
		h.MaxOfferBytes = 8 << 10
		h.Authenticate = func(r *http.Request, agent string) error {
			if r.Header.Get("Authorization") != "Bearer good" {
				return refuse
			}
			if agent == "ghost" {
				return &RefusalError{Status: http.StatusNotFound, Code: "unknown_agent", Err: fmt.Errorf("no agent %q", agent)}
			}
			return nil
		}
		start := h.Start
		h.Start = func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
			if req.Agent == "full" {
				return nil, &RefusalError{Status: http.StatusServiceUnavailable, Code: "capacity", Err: errors.New("server is at its limit of 1 concurrent calls")}
			}
			return start(ctx, req, conn)
		}
	})
	good := http.Header{"Authorization": {"Bearer good"}}
	cl := newClient(t)
	offer := cl.offer(t)
	cases := []struct {
		name, agent, ctype, body string
		header                   http.Header
		status                   int
		code, text               string
	}{
		{"no token", "demo", "application/sdp", offer, nil, 401, "unauthorized", "unauthorized: no"},
		{"unknown agent", "ghost", "application/sdp", offer, good, 404, "unknown_agent", `no agent \"ghost\"`},
		{"json body", "demo", "application/json", `{"sdp":"x"}`, good, 415, "unsupported_media_type", "application/sdp"},
		{"too large", "demo", "application/sdp", offer + strings.Repeat("a=x\r\n", 4000), good, 413, "offer_too_large", "limited to 8192 bytes"},
		{"garbage", "demo", "application/sdp", "hello", good, 400, "bad_offer", "invalid SDP offer"},
		{"no audio", "demo", "application/sdp", noAudioOffer, good, 400, "bad_offer", "no audio section"},
		{"g722 only", "demo", "application/sdp", g722OnlyOffer, good, 400, "bad_offer", "offers none of"},
		{"capacity", "full", "application/sdp", offer, good, 503, "capacity", "limit of 1 concurrent calls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := f.post(t, tc.agent, tc.ctype, tc.body, tc.header)
			if res.StatusCode != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) || !strings.Contains(body, tc.text) {
				t.Errorf("got %d %s, want %d %s containing %q", res.StatusCode, body, tc.status, tc.code, tc.text)
			}
		})
	}
	select {
	case c := <-f.calls:
		t.Errorf("a refused request started call %s", c.id)
	default:
	}
}
