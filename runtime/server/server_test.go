package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/media/native"
	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

func TestNormalCall(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	p := mustDial(t, ts)
	if !strings.HasPrefix(p.cl.CallID(), "call_") {
		t.Errorf("call id %q", p.cl.CallID())
	}
	started := p.event(events.CallStarted, nil)
	if started.Sequence != 1 || started.CallID != p.cl.CallID() || started.AgentID != "test" {
		t.Errorf("call.started = %+v; want sequence 1 of this call and agent", started)
	}
	if started.Payload["transport"] != "websocket" || started.Payload["from"] != "+15550100" || started.Payload["to"] != "+15550199" {
		t.Errorf("call.started payload %v", started.Payload)
	}
	// The greeting "Hi." is 180 ms of audio: 9 frames of 640 bytes.
	p.until("greeting audio", func() bool { return p.frames >= 9 })
	p.awaitListening()
	p.hangUp()
	if got := ts.endReason(p.cl.CallID()); got != "caller_hangup" {
		t.Errorf("call.ended reason %q, want caller_hangup", got)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.badSizes > 0 {
		t.Errorf("%d agent audio messages were not 640 bytes", p.badSizes)
	}
	// Every event reaches the client, in sequence order without gaps, ending
	// with call.ended.
	var last uint64
	for _, e := range p.evs {
		if e.Sequence != last+1 {
			t.Errorf("event %s has sequence %d after %d", e.Type, e.Sequence, last)
		}
		last = e.Sequence
	}
	if n := len(p.evs); n == 0 || p.evs[n-1].Type != events.CallEnded || p.evs[n-1].Payload["reason"] != "caller_hangup" {
		t.Errorf("last event is not call.ended with reason caller_hangup: %+v", p.evs[len(p.evs)-1])
	}
}

func TestAudioBeforeStart(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	c := dialRaw(t, ts.url)
	c.send(websocket.BinaryMessage, make([]byte, 640))
	e, code := c.refusal()
	if code != websocket.CloseUnsupportedData || e.Code != "protocol_error" || !strings.Contains(e.Message, "start") {
		t.Errorf("got error %+v and close %d; want protocol_error about start and 1003", e, code)
	}
	if n := ts.srv.LiveCalls(); n != 0 {
		t.Errorf("%d live calls", n)
	}
}

func TestInvalidStart(t *testing.T) {
	tests := []struct {
		name, start string
		want        []string
	}{
		{"no agent", `{"type":"start"}`, []string{"start.agent is required"}},
		{"wrong sample rate", `{"type":"start","agent":"test","sample_rate":8000}`, []string{"start.sample_rate", "16000", "8000"}},
		{"wrong encoding", `{"type":"start","agent":"test","encoding":"audio/pcmu"}`, []string{"start.encoding"}},
		{"bad agent id", `{"type":"start","agent":"Test Agent"}`, []string{"start.agent", "not a valid agent id"}},
		{"unknown field", `{"type":"start","agent":"test","langauge":"en"}`, []string{`unknown field "langauge"`}},
		{"not JSON", `start test`, []string{"invalid JSON"}},
		{"other message first", `{"type":"dtmf","digit":"1"}`, []string{`first message must be "start"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, server.Config{})
			c := dialRaw(t, ts.url)
			c.send(websocket.TextMessage, []byte(tt.start))
			e, code := c.refusal()
			if code != websocket.ClosePolicyViolation || e.Code != "protocol_error" {
				t.Errorf("got error %+v and close %d; want protocol_error and 1008", e, code)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("error %q does not mention %q", e.Message, w)
				}
			}
		})
	}
}

func TestUnknownAgent(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	_, err := dial(t, ts.url, nil, native.Control{Agent: "nope"})
	if err == nil || !strings.Contains(err.Error(), "unknown_agent") || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "test") {
		t.Errorf("dial = %v; want unknown_agent naming the agent and the agents there are", err)
	}
	c := dialRaw(t, ts.url)
	c.send(websocket.TextMessage, []byte(`{"type":"start","agent":"nope"}`))
	if e, code := c.refusal(); e.Code != "unknown_agent" || code != websocket.ClosePolicyViolation {
		t.Errorf("got %+v and close %d; want unknown_agent and 1008", e, code)
	}
}

// TestBadMessagesMidCall: malformed JSON, unknown types and unknown fields are
// answered with an error and the call goes on: it still answers speech.
func TestBadMessagesMidCall(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	p := mustDial(t, ts)
	p.awaitListening()
	for _, m := range []string{`{"type":"stop"`, `{"type":"hangup"}`, `{"type":"dtmf","digit":"5","extra":1}`, `{"type":"start","agent":"test"}`} {
		if err := p.cl.SendRaw(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	p.until("four errors", func() bool { return len(p.errs) >= 4 })
	p.mu.Lock()
	for i, want := range []string{"invalid JSON", `unknown message type "hangup"`, `unknown field "extra"`, "already"} {
		if !strings.HasPrefix(p.errs[i], "protocol_error: ") || !strings.Contains(p.errs[i], want) {
			t.Errorf("error %d = %q, want protocol_error mentioning %q", i, p.errs[i], want)
		}
	}
	p.mu.Unlock()
	p.speak(640)
	tr := p.event(events.SpeechTranscribed, nil)
	if tr.Payload["text"] != "hello" {
		t.Errorf("speech.transcribed %v", tr.Payload)
	}
	before := p.framesSoFar()
	p.event(events.AgentResponse, func(e native.ClientEvent) bool { return e.Payload["text"] == "You said: hello." })
	p.until("the answer's audio", func() bool { return p.frames >= before+10 })
	p.hangUp()
	if got := ts.endReason(p.cl.CallID()); got != "caller_hangup" {
		t.Errorf("call.ended reason %q", got)
	}
}

// TestOversizedMessage: a message over 64 KiB ends that call (error
// message_too_big, close 1009) and leaves another call on the server untouched.
func TestOversizedMessage(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	bad := mustDial(t, ts)
	good := mustDial(t, ts)
	bad.until("greeting audio", func() bool { return bad.frames > 0 })
	good.awaitListening()

	if err := bad.cl.SendRaw(websocket.BinaryMessage, make([]byte, 64<<10+1)); err != nil {
		t.Fatal(err)
	}
	if code := bad.closeCode(); code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want 1009", code)
	}
	bad.mu.Lock()
	if len(bad.errs) != 1 || !strings.HasPrefix(bad.errs[0], "message_too_big: ") || !strings.Contains(bad.errs[0], "65536") {
		t.Errorf("errors %q; want one message_too_big naming the limit", bad.errs)
	}
	bad.mu.Unlock()
	if got := ts.endReason(bad.cl.CallID()); got != "transport_error" {
		t.Errorf("oversized call ended with %q, want transport_error", got)
	}

	// The other call still hears, answers and ends normally.
	good.speak(640)
	good.event(events.SpeechTranscribed, nil)
	before := good.framesSoFar()
	good.until("the answer's audio", func() bool { return good.frames >= before+10 })
	good.hangUp()
	if got := ts.endReason(good.cl.CallID()); got != "caller_hangup" {
		t.Errorf("other call ended with %q", got)
	}
	good.mu.Lock()
	defer good.mu.Unlock()
	if len(good.errs) != 0 {
		t.Errorf("the other call got errors %q", good.errs)
	}
}

// TestAudioReframing sends the same utterance as whole 20 ms frames and in
// 333-byte pieces (odd, so samples straddle messages). The recogniser must get
// the same audio either way; a lost byte would shift every later sample by a
// byte and turn the utterance's quiet tail into loud noise.
func TestAudioReframing(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	audioMS := map[int]float64{}
	for _, piece := range []int{640, 333, 1} {
		p := mustDial(t, ts)
		p.awaitListening()
		p.speak(piece)
		tr := p.event(events.SpeechTranscribed, nil)
		ms, _ := tr.Payload["audio_ms"].(float64)
		audioMS[piece] = ms
		p.hangUp()
		ended := p.event(events.CallEnded, nil)
		if d, _ := ended.Payload["dropped_frames"].(float64); d != 0 {
			t.Errorf("%d-byte pieces: %v frames dropped", piece, d)
		}
		if p.count(events.SpeechStarted) != 1 {
			t.Errorf("%d-byte pieces: %d speech.started events, want 1", piece, p.count(events.SpeechStarted))
		}
	}
	// 1 s of tone, plus pre-roll and the trailing silence that ended the turn.
	if ms := audioMS[640]; ms < 1000 || ms > 2500 {
		t.Errorf("recogniser got %v ms of audio, want about 1.9 s", ms)
	}
	if audioMS[333] != audioMS[640] || audioMS[1] != audioMS[640] {
		t.Errorf("recogniser got %v ms (333-byte pieces) and %v ms (1-byte pieces), want %v ms as with whole frames", audioMS[333], audioMS[1], audioMS[640])
	}
}

func TestTooManyProtocolErrors(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	p := mustDial(t, ts)
	for i := range 50 {
		if err := p.cl.SendRaw(websocket.TextMessage, []byte(fmt.Sprintf(`{"type":"bad%d"}`, i))); err != nil {
			break // the server may have closed already
		}
	}
	if code := p.closeCode(); code != websocket.ClosePolicyViolation {
		t.Errorf("close code %d, want 1008", code)
	}
	if got := ts.endReason(p.cl.CallID()); got != "transport_error" {
		t.Errorf("call.ended reason %q, want transport_error", got)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.errs); n == 0 || !strings.Contains(p.errs[n-1], "too many protocol errors") {
		t.Errorf("last error %q; want one saying too many protocol errors", p.errs)
	}
}

func TestMaxCalls(t *testing.T) {
	ts := newTestServer(t, server.Config{MaxCalls: 1})
	first := mustDial(t, ts)
	_, err := dial(t, ts.url, nil, native.Control{Agent: "test"})
	if err == nil || !strings.Contains(err.Error(), "capacity") {
		t.Errorf("second call: %v; want a capacity refusal", err)
	}
	c := dialRaw(t, ts.url)
	c.send(websocket.TextMessage, []byte(`{"type":"start","agent":"test"}`))
	if e, code := c.refusal(); e.Code != "capacity" || code != websocket.CloseTryAgainLater {
		t.Errorf("refusal %+v close %d; want capacity and 1013", e, code)
	}
	// The live call is unaffected.
	first.awaitListening()
	first.speak(640)
	first.event(events.SpeechTranscribed, nil)
	first.hangUp()
	ts.endReason(first.cl.CallID())
	// Once it has ended there is room again. call.ended is published just before
	// the call is removed from the live set, so wait for that too.
	deadline := time.Now().Add(wait)
	for ts.srv.LiveCalls() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	next := mustDial(t, ts)
	next.awaitListening()
	next.hangUp()
}

func TestAuthToken(t *testing.T) {
	ts := newTestServer(t, server.Config{AuthToken: "s3cret"})
	for _, tt := range []struct {
		name   string
		url    string
		header http.Header
		ok     bool
	}{
		{"no token", ts.url, nil, false},
		{"wrong token", ts.url, http.Header{"Authorization": {"Bearer nope"}}, false},
		{"wrong scheme", ts.url, http.Header{"Authorization": {"Basic s3cret"}}, false},
		{"wrong query token", ts.url + "?token=nope", nil, false},
		{"bearer", ts.url, http.Header{"Authorization": {"Bearer s3cret"}}, true},
		{"query", ts.url + "?token=s3cret", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := dial(t, tt.url, tt.header, native.Control{Agent: "test"})
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
					t.Errorf("dial = %v, want HTTP 401", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			p.awaitListening()
			p.hangUp()
		})
	}
	// Health is not behind the token.
	resp, err := http.Get(ts.hs.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
}

// TestCallerVanishes: the caller's TCP connection drops without a close frame;
// the call ends with transport_error and nothing is left behind.
func TestCallerVanishes(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	c := dialRaw(t, ts.url)
	c.send(websocket.TextMessage, []byte(`{"type":"start","agent":"test"}`))
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	var m serverMsg
	if err := c.ws.ReadJSON(&m); err != nil || m.Type != native.TypeStarted {
		t.Fatalf("answer to start: %+v %v", m, err)
	}
	c.ws.UnderlyingConn().Close()
	if got := ts.endReason(m.CallID); got != "transport_error" && got != "caller_hangup" {
		t.Errorf("call.ended reason %q, want transport_error", got)
	}
}

func TestDTMF(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	p := mustDial(t, ts)
	for _, d := range []string{"5", "#", "b"} {
		if err := p.cl.Send(native.Control{Type: native.TypeDTMF, Digit: d}); err != nil {
			t.Fatal(err)
		}
	}
	p.until("three dtmf.received", func() bool {
		n := 0
		for _, e := range p.evs {
			if e.Type == events.DTMFReceived {
				n++
			}
		}
		return n == 3
	})
	var digits []string
	p.mu.Lock()
	for _, e := range p.evs {
		if e.Type == events.DTMFReceived {
			digits = append(digits, fmt.Sprint(e.Payload["digit"]))
		}
	}
	p.mu.Unlock()
	if fmt.Sprint(digits) != "[5 # B]" {
		t.Errorf("dtmf.received digits %v, want [5 # B]", digits)
	}
	p.hangUp()
}

// TestEventFilter: start.events limits the events sent to the client.
func TestEventFilter(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	p, err := dial(t, ts.url, nil, native.Control{Agent: "test", Events: []string{"call.started", "call.ended"}})
	if err != nil {
		t.Fatal(err)
	}
	p.event(events.CallStarted, nil)
	p.until("greeting audio", func() bool { return p.frames >= 9 })
	p.hangUp()
	p.mu.Lock()
	defer p.mu.Unlock()
	var types []string
	for _, e := range p.evs {
		types = append(types, e.Type)
	}
	if fmt.Sprint(types) != "[call.started call.ended]" {
		t.Errorf("events %v, want only call.started and call.ended", types)
	}
}

// TestConcurrentCalls runs several full calls at once on one server.
func TestConcurrentCalls(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	var wg sync.WaitGroup
	for range 4 {
		p := mustDial(t, ts)
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.awaitListening()
			p.speak(1000)
			p.event(events.SpeechTranscribed, nil)
		}()
	}
	wg.Wait()
	// Each phone hangs up in cleanup (Close); the server must end every call.
}

func TestReadyAndAgents(t *testing.T) {
	ts := newTestServer(t, server.Config{MaxCalls: 1})
	get := func(path string) (int, map[string]any) {
		resp, err := http.Get(ts.hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, body := get("/readyz"); code != http.StatusOK || body["status"] != "ready" {
		t.Errorf("/readyz = %d %v", code, body)
	}
	p := mustDial(t, ts)
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || body["status"] != "full" {
		t.Errorf("/readyz with a full server = %d %v", code, body)
	}
	if code, body := get("/v1/agents"); code != http.StatusOK || !strings.Contains(fmt.Sprint(body), "id:test") {
		t.Errorf("/v1/agents = %d %v", code, body)
	}
	p.hangUp()
}

// TestShutdown: draining refuses new calls with "draining" and, when the grace
// period is over, ends live calls with server_shutdown.
func TestShutdown(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	p := mustDial(t, ts)
	p.awaitListening()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	shutdownDone := make(chan struct{})
	go func() { defer close(shutdownDone); ts.srv.Shutdown(ctx) }()
	// Wait until the server reports draining.
	deadline := time.Now().Add(wait)
	for {
		resp, err := http.Get(ts.hs.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body["status"] == "draining" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said draining: %v", body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := dial(t, ts.url, nil, native.Control{Agent: "test"})
	if err == nil || !strings.Contains(err.Error(), "draining") {
		t.Errorf("dial while draining: %v, want a draining refusal", err)
	}
	select {
	case <-shutdownDone:
		t.Fatal("Shutdown returned while a call was live and its grace period not over")
	default:
	}
	cancel() // the grace period is over
	select {
	case <-shutdownDone:
	case <-time.After(wait):
		t.Fatal("Shutdown did not return")
	}
	if code := p.closeCode(); code != websocket.CloseNormalClosure {
		t.Errorf("close code %d, want 1000", code)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if fmt.Sprint(p.stops) != "[server_shutdown]" {
		t.Errorf("stop messages %v, want [server_shutdown]", p.stops)
	}
	if n := len(p.evs); n == 0 || p.evs[n-1].Type != events.CallEnded || p.evs[n-1].Payload["reason"] != "server_shutdown" {
		t.Errorf("last event %+v, want call.ended with server_shutdown", p.evs[len(p.evs)-1])
	}
}

// TestRapidHangups starts and ends calls as fast as possible, hanging up or
// dropping the connection at once, while the greeting is still being set up.
func TestRapidHangups(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := dial(t, ts.url, nil, native.Control{Agent: "test"})
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			want := "caller_hangup"
			switch i % 3 {
			case 0:
				_ = p.cl.Hangup()
			case 1:
				_ = p.cl.Close() // drops the TCP connection
				want = "transport_error"
			case 2:
				_ = p.cl.Send(native.Control{Type: native.TypeDTMF, Digit: "1"})
				_ = p.cl.Hangup()
			}
			if got := ts.endReason(p.cl.CallID()); got != want && !(want == "transport_error" && got == "caller_hangup") {
				t.Errorf("call %d ended with %q, want %q", i, got, want)
			}
		}()
	}
	wg.Wait()
}

const longGreetingAgent = `id: long
greeting: Hello and welcome to the test line. This greeting goes on for quite a few seconds.
stt: {provider: fake}
tts: {provider: fake}
llm: {provider: fake}
`

// TestBargeIn: the caller talks over the greeting. The client is told to drop
// its buffered audio (clear), the interruption is reported, and the caller's
// words are answered.
func TestBargeIn(t *testing.T) {
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{parseAgent(t, longGreetingAgent)}})
	p, err := dial(t, ts.url, nil, native.Control{Agent: "long"})
	if err != nil {
		t.Fatal(err)
	}
	p.event(events.AgentSpeechStarted, nil)
	p.until("some greeting audio", func() bool { return p.frames >= 5 })
	p.speak(640)
	stop := p.keepTalking() // the line stays open: silence keeps coming
	defer stop()
	p.until("clear", func() bool { return p.clears > 0 })
	in := p.event(events.CallInterrupted, nil)
	if played, _ := in.Payload["played_text"].(string); !strings.HasPrefix("Hello and welcome to the test line.", played) && !strings.HasPrefix(played, "Hello and welcome") {
		t.Errorf("call.interrupted played_text %q is not a prefix of the greeting", played)
	}
	p.event(events.AgentResponse, func(e native.ClientEvent) bool { return e.Payload["text"] == "You said: hello." })
	stop()
	p.hangUp()
	ended := p.event(events.CallEnded, nil)
	if n, _ := ended.Payload["interruptions"].(float64); n != 1 {
		t.Errorf("call.ended interruptions = %v, want 1", ended.Payload["interruptions"])
	}
	if got := fmt.Sprint(ended.Payload["transcript"]); !strings.Contains(got, "hello") {
		t.Errorf("transcript %s lacks the caller's words", got)
	}
}

// TestBargeInTranscribed: the words of a caller who interrupts the agent are a
// final transcript like any other, so clients following live transcripts (and
// webhooks) should get speech.transcribed for them.
func TestBargeInTranscribed(t *testing.T) {
	ts := newTestServer(t, server.Config{Agents: []*agents.Config{parseAgent(t, longGreetingAgent)}})
	p, err := dial(t, ts.url, nil, native.Control{Agent: "long"})
	if err != nil {
		t.Fatal(err)
	}
	p.until("some greeting audio", func() bool { return p.frames >= 5 })
	p.speak(640)
	stop := p.keepTalking()
	defer stop()
	p.event(events.CallInterrupted, nil)
	p.event(events.AgentResponse, func(e native.ClientEvent) bool { return e.Payload["text"] == "You said: hello." })
	stop()
	p.hangUp()
	if n := p.count(events.SpeechTranscribed); n != 1 {
		t.Errorf("%d speech.transcribed events for the interrupting words, want 1", n)
	}
}
