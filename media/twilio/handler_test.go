package twilio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const testSid = "MZ18ad3ab5a668481ce02b83e7395059f0"

// TestConformanceCall replays a documented call (testdata/call.jsonl: connected,
// start with customParameters, media, dtmf, mark, stop) and checks what the call
// receives and what Parley sends back: media, mark and clear, as Twilio documents them.
func TestConformanceCall(t *testing.T) {
	r := newRig(t, &Handler{})
	lines := readLines(t, "call.jsonl")
	tw := dialTwilio(t, r.url, nil)
	tw.send(lines[0]) // connected
	tw.send(lines[1]) // start
	req := <-r.reqs
	want := StartRequest{Agent: "demo", From: "+15550100", To: "+15550199", CallSid: "CA00000000000000000000000000000001",
		StreamSid: testSid, AccountSid: "AC00000000000000000000000000000000", SampleRate: 16000}
	if req.Agent != want.Agent || req.From != want.From || req.To != want.To || req.CallSid != want.CallSid ||
		req.StreamSid != want.StreamSid || req.AccountSid != want.AccountSid || req.SampleRate != 16000 ||
		req.CustomParameters["call_sid"] != want.CallSid || req.RemoteAddr == "" {
		t.Errorf("start request = %+v", req)
	}
	call := r.call(t)

	// Four 20 ms chunks of 8 kHz μ-law become 16 kHz frames of 320 samples.
	for _, l := range lines[2:6] {
		tw.send(l)
	}
	// Agent audio: five 16 kHz frames, then a mark.
	for range 5 {
		if err := call.conn.WriteFrame(make([]int16, 320)); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for i := range 5 {
		m := tw.expect(t, EventMedia)
		if m.StreamSid != testSid || len(m.raw) != 3 || len(m.raw["media"].(map[string]any)) != 1 {
			t.Errorf("media message %v: want exactly event, streamSid and media.payload", m.raw)
		}
		n := len(m.audio(t))
		total += n
		if i > 0 && n != BytesPerFrame {
			t.Errorf("media message %d carries %d bytes, want %d (20 ms of μ-law)", i, n, BytesPerFrame)
		}
	}
	if total < 4*BytesPerFrame || total > 5*BytesPerFrame {
		t.Errorf("5 frames became %d μ-law bytes, want about %d", total, 5*BytesPerFrame)
	}
	mk := tw.expect(t, EventMark)
	if mk.Mark == nil || mk.Mark.Name != "parley-1" || mk.StreamSid != testSid {
		t.Fatalf("mark %v, want parley-1", mk.raw)
	}
	tw.send(lines[6]) // dtmf 5
	tw.send(lines[7]) // mark parley-1 echoed: 100 ms played
	deadline := time.Now().Add(wait)
	for {
		if p, w := call.conn.Played(); p == 1600 && w == 1600 {
			break
		}
		if time.Now().After(deadline) {
			p, w := call.conn.Played()
			t.Fatalf("played %d of %d samples after the echoed mark, want 1600 of 1600", p, w)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Three more frames, then a barge-in: clear, and 60 ms count as unheard.
	for range 3 {
		_ = call.conn.WriteFrame(make([]int16, 320))
	}
	if err := call.conn.Clear(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tw.expect(t, EventMedia)
	}
	cl := tw.expect(t, EventClear)
	if cl.StreamSid != testSid || len(cl.raw) != 2 {
		t.Errorf("clear %v: want exactly event and streamSid", cl.raw)
	}
	if got := call.conn.ClearedUnheard(); got != 960 {
		t.Errorf("ClearedUnheard = %d, want 960 (3 frames written after the last echoed mark)", got)
	}
	tw.send(lines[8]) // stop
	if got := call.waitReason(t); got != ReasonCallerHangup {
		t.Errorf("hang-up reason %q, want caller_hangup", got)
	}
	if code := tw.closeCode(t); code != websocket.CloseNormalClosure {
		t.Errorf("close code %d, want 1000", code)
	}
	call.mu.Lock()
	defer call.mu.Unlock()
	if fmt.Sprint(call.dtmf, call.marks) != "[5] [parley-1]" {
		t.Errorf("dtmf %v marks %v", call.dtmf, call.marks)
	}
	// 80 ms at 8 kHz is 1280 samples at 16 kHz, less the resampler's delay.
	if n := len(call.frames); n < 3 || n > 4 {
		t.Errorf("%d inbound frames, want 3 or 4", n)
	}
	for _, f := range call.frames {
		if len(f) != 320 {
			t.Errorf("inbound frame of %d samples, want 320", len(f))
		}
	}
}

// TestOutboundMatchesDocumentedShapes checks Parley's messages against the
// documented examples in testdata/outbound.jsonl, field for field.
func TestOutboundMatchesDocumentedShapes(t *testing.T) {
	docs := readLines(t, "outbound.jsonl")
	ours := []string{string(EncodeMedia(testSid, []byte{0xff})), string(EncodeMark(testSid, "parley-1")), string(EncodeClear(testSid))}
	for i := range docs {
		var d, o map[string]any
		if err := json.Unmarshal([]byte(docs[i]), &d); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(ours[i]), &o); err != nil {
			t.Fatal(err)
		}
		if m, ok := d["media"].(map[string]any); ok {
			m["payload"] = "/w==" // one 0xff byte
		}
		if fmt.Sprint(d) != fmt.Sprint(o) {
			t.Errorf("Parley sends %s, Twilio documents %s", ours[i], docs[i])
		}
	}
}

// TestHandlerRefusals: every broken stream gets a clear close and no call, or a
// call that ends with the right reason.
func TestHandlerRefusals(t *testing.T) {
	start := readLines(t, "call.jsonl")[1]
	cases := []struct {
		name string
		msgs []string
		code int
	}{
		{"media before start", []string{`{"event":"connected","protocol":"Call","version":"1.0.0"}`,
			`{"event":"media","sequenceNumber":"1","streamSid":"MZ1","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"/w=="}}`}, websocket.ClosePolicyViolation},
		{"malformed JSON", []string{`{"event":"start",`}, websocket.ClosePolicyViolation},
		{"numbers not strings", []string{strings.Replace(start, `"sequenceNumber":"1"`, `"sequenceNumber":1`, 1)}, websocket.ClosePolicyViolation},
		{"unknown event first", []string{`{"event":"hello"}`}, websocket.ClosePolicyViolation},
		{"no agent", []string{strings.Replace(start, `"agent":"demo",`, ``, 1)}, websocket.ClosePolicyViolation},
		{"wrong media format", []string{strings.Replace(start, `"sampleRate":8000`, `"sampleRate":16000`, 1)}, websocket.ClosePolicyViolation},
		{"oversized frame", []string{`{"event":"connected","protocol":"` + strings.Repeat("x", 70<<10) + `"}`}, websocket.CloseMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, &Handler{})
			tw := dialTwilio(t, r.url, nil)
			for _, m := range tc.msgs {
				tw.send(m)
			}
			if code := tw.closeCode(t); code != tc.code {
				t.Errorf("close code %d, want %d", code, tc.code)
			}
			select {
			case req := <-r.reqs:
				t.Errorf("a call started: %+v", req)
			default:
			}
		})
	}
}

// TestHandlerEndReasons: each way a started stream ends gives its reason.
func TestHandlerEndReasons(t *testing.T) {
	lines := readLines(t, "call.jsonl")
	cases := []struct {
		name   string
		h      Handler
		act    func(tw *twilioSide)
		reason string
	}{
		{"stop", Handler{}, func(tw *twilioSide) { tw.send(lines[8]) }, ReasonCallerHangup},
		{"dropped connection", Handler{}, func(tw *twilioSide) { tw.ws.UnderlyingConn().Close() }, ReasonTransportError},
		{"clean close without stop", Handler{}, func(tw *twilioSide) {
			_ = tw.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
		}, ReasonCallerHangup},
		{"silence", Handler{ReadTimeout: 200 * time.Millisecond}, func(tw *twilioSide) {}, ReasonTimeout},
		{"oversized frame", Handler{}, func(tw *twilioSide) {
			tw.send(`{"event":"mark","streamSid":"` + testSid + `","sequenceNumber":"9","mark":{"name":"` + strings.Repeat("x", 70<<10) + `"}}`)
		}, ReasonTransportError},
		{"too many protocol errors", Handler{MaxErrors: 3}, func(tw *twilioSide) {
			for range 3 {
				tw.send(`{"event":"bogus","streamSid":"` + testSid + `"}`)
			}
		}, ReasonTransportError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			r := newRig(t, &h)
			tw := dialTwilio(t, r.url, nil)
			tw.send(lines[0])
			tw.send(lines[1])
			call := r.call(t)
			tc.act(tw)
			if got := call.waitReason(t); got != tc.reason {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
		})
	}
}

// TestHandlerSurvivesBadMessages: after start, malformed and unknown messages
// are reported and skipped; the call goes on.
func TestHandlerSurvivesBadMessages(t *testing.T) {
	lines := readLines(t, "call.jsonl")
	r := newRig(t, &Handler{})
	tw := dialTwilio(t, r.url, nil)
	tw.send(lines[0])
	tw.send(lines[1])
	call := r.call(t)
	for _, bad := range []string{`not json`, `{"event":"future","streamSid":"` + testSid + `"}`,
		`{"event":"media","sequenceNumber":"3","streamSid":"MZother","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"/w=="}}`,
		`{"event":"dtmf","sequenceNumber":"4","streamSid":"` + testSid + `","dtmf":{"track":"inbound","digit":"5"}}`,
		lines[1]} {
		tw.send(bad)
	}
	tw.send(lines[6]) // a good dtmf
	tw.send(lines[8])
	if got := call.waitReason(t); got != ReasonCallerHangup {
		t.Errorf("reason %q", got)
	}
	call.mu.Lock()
	defer call.mu.Unlock()
	if fmt.Sprint(call.dtmf) != "[5]" {
		t.Errorf("dtmf %v, want only the valid one", call.dtmf)
	}
}

// TestHandlerAuthenticate: a failing Authenticate answers 403 before the upgrade.
func TestHandlerAuthenticate(t *testing.T) {
	v := Validator{AuthToken: "12345"}
	r := newRig(t, &Handler{Authenticate: v.ValidateUpgrade})
	_, resp, err := websocket.DefaultDialer.Dial(r.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned upgrade: err %v, resp %v; want 403", err, resp)
	}
	hdr := http.Header{SignatureHeader: {"bm90IGEgc2lnbmF0dXJl"}}
	if _, resp, err = websocket.DefaultDialer.Dial(r.url, hdr); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("badly signed upgrade: err %v; want 403", err)
	}
	// Signed over the ws:// URL the test server is reached at (plain HTTP here).
	u := "ws://" + strings.TrimPrefix(r.url, "ws://")
	hdr.Set(SignatureHeader, Signature("12345", u, nil))
	tw := dialTwilio(t, r.url, hdr)
	lines := readLines(t, "call.jsonl")
	tw.send(lines[0])
	tw.send(lines[1])
	call := r.call(t)
	tw.send(lines[8])
	call.waitReason(t)
}
