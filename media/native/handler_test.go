package native

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/runtime/events"
)

func TestHandlerNormalCall(t *testing.T) {
	r := newRig(t, &Handler{}, false)
	c := dialRaw(t, r.url)
	c.text(`{"type":"start","agent":"demo","from":"+15550100","to":"+15550199","metadata":{"crm":"42"}}`)
	m, _, err := c.next()
	if err != nil || m.Type != TypeStarted || m.CallID != "call_test" || m.Agent != "demo" || m.Rate != 16000 || m.Enc != "audio/l16" {
		t.Fatalf("started = %+v, %v", m, err)
	}
	req := <-r.reqs
	if req.Agent != "demo" || req.From != "+15550100" || req.To != "+15550199" || req.Metadata["crm"] != "42" || req.RemoteAddr == "" {
		t.Errorf("start request = %+v", req)
	}
	call := r.call()
	// Agent audio goes out as 640-byte binary frames.
	for range 3 {
		if err := call.conn.WriteFrame(make([]int16, 320)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		_, n, err := c.next()
		if err != nil || n != 640 {
			t.Fatalf("frame %d: %d bytes, %v; want 640", i, n, err)
		}
	}
	c.text(`{"type":"dtmf","digit":"5"}`)
	c.text(`{"type":"mark","name":"m1"}`)
	c.text(`{"type":"clear"}`)
	c.text(`{"type":"stop"}`)
	msgs, _, code := c.untilClose()
	if got := call.waitReason(t); got != "caller_hangup" {
		t.Errorf("hang-up reason %q, want caller_hangup", got)
	}
	if stop, ok := findMsg(msgs, TypeStop); !ok || stop.Reason != "caller_hangup" {
		t.Errorf("messages before close %+v: want stop with reason caller_hangup", msgs)
	}
	if code != websocket.CloseNormalClosure {
		t.Errorf("close code %d, want 1000", code)
	}
	call.mu.Lock()
	defer call.mu.Unlock()
	if fmt.Sprint(call.dtmf, call.marks) != "[5] [m1]" {
		t.Errorf("call got dtmf %v marks %v", call.dtmf, call.marks)
	}
}

// TestHandlerReframesAudio sends a known ramp of samples in pieces of many
// sizes, odd ones included: the call must get every sample, in order, in
// 320-sample frames.
func TestHandlerReframesAudio(t *testing.T) {
	const samples = 16000 // 1 s
	pcm := make([]byte, 2*samples)
	for i := range samples {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(i*7-30000)))
	}
	for _, sizes := range [][]int{{333}, {1}, {639}, {641}, {2}, {640}, {32000}, {1, 2, 3, 1000, 5, 7, 639, 641, 1279}} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			r := newRig(t, &Handler{}, false)
			c := dialRaw(t, r.url)
			c.start("demo")
			call := r.call()
			for off, i := 0, 0; off < len(pcm); i++ {
				n := min(sizes[i%len(sizes)], len(pcm)-off)
				c.send(websocket.BinaryMessage, pcm[off:off+n])
				off += n
			}
			c.text(`{"type":"stop"}`)
			c.untilClose()
			call.waitReason(t)
			call.mu.Lock()
			defer call.mu.Unlock()
			if call.frames != 50 || call.sizes[320] != 50 {
				t.Fatalf("call got %d frames, sizes %v; want 50 frames of 320 samples", call.frames, call.sizes)
			}
			for i, s := range call.audio {
				if want := int16(i*7 - 30000); s != want {
					t.Fatalf("sample %d = %d, want %d", i, s, want)
				}
			}
		})
	}
}

// TestHandlerStartedComesFirst: a call that writes audio as soon as it exists
// must not get ahead of the started message.
func TestHandlerStartedComesFirst(t *testing.T) {
	h := &Handler{}
	h.Start = func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
		c := newFakeCall(conn, false)
		wrote := make(chan struct{})
		go func() { _ = conn.WriteFrame(make([]int16, 320)); close(wrote) }()
		// Give the early write every chance to overtake started; with the gate it
		// cannot complete before started is sent, so this waits out the timer.
		select {
		case <-wrote:
		case <-time.After(200 * time.Millisecond):
		}
		go func() { <-wrote; conn.Close("agent_hangup") }()
		return c, nil
	}
	r := newRig(t, h, false)
	c := dialRaw(t, r.url)
	c.start("demo") // fails unless started is the first message
	_, n, err := c.next()
	if err != nil || n != 640 {
		t.Fatalf("after started: %d binary bytes, %v; want the 640-byte frame", n, err)
	}
	c.untilClose()
}

func TestHandlerRefusals(t *testing.T) {
	tests := []struct {
		name      string
		first     func(c *raw)
		startErr  error
		wantCode  string
		wantClose int
		wantText  []string
	}{
		{"audio before start", func(c *raw) { c.send(websocket.BinaryMessage, make([]byte, 640)) }, nil,
			"protocol_error", websocket.CloseUnsupportedData, []string{"start"}},
		{"stop before start", func(c *raw) { c.text(`{"type":"stop"}`) }, nil,
			"protocol_error", websocket.ClosePolicyViolation, []string{`first message must be "start"`, `"stop"`}},
		{"malformed start", func(c *raw) { c.text(`{"type":"start","agent":`) }, nil,
			"protocol_error", websocket.ClosePolicyViolation, []string{"invalid JSON"}},
		{"start without agent", func(c *raw) { c.text(`{"type":"start"}`) }, nil,
			"protocol_error", websocket.ClosePolicyViolation, []string{"start.agent is required"}},
		{"start wrong rate", func(c *raw) { c.text(`{"type":"start","agent":"demo","sample_rate":8000}`) }, nil,
			"protocol_error", websocket.ClosePolicyViolation, []string{"start.sample_rate", "8000"}},
		{"start unknown field", func(c *raw) { c.text(`{"type":"start","agent":"demo","voice":"x"}`) }, nil,
			"protocol_error", websocket.ClosePolicyViolation, []string{`unknown field "voice"`}},
		{"oversized start", func(c *raw) { c.text(`{"type":"start","agent":"demo","from":"` + strings.Repeat("x", 70000) + `"}`) }, nil,
			"message_too_big", websocket.CloseMessageTooBig, []string{"65536"}},
		{"refused by StartFunc", func(c *raw) { c.text(`{"type":"start","agent":"nope"}`) },
			&RefusalError{Code: "unknown_agent", CloseCode: websocket.ClosePolicyViolation, Err: errors.New(`no agent "nope"`)},
			"unknown_agent", websocket.ClosePolicyViolation, []string{`no agent "nope"`}},
		{"StartFunc fails", func(c *raw) { c.text(`{"type":"start","agent":"demo"}`) }, errors.New("speech-to-text is down"),
			"start_failed", websocket.CloseInternalServerErr, []string{"speech-to-text is down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{}
			started := false
			h.Start = func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
				if tt.startErr != nil {
					return nil, tt.startErr
				}
				started = true
				return nil, errors.New("unexpected start")
			}
			r := newRig(t, h, false)
			c := dialRaw(t, r.url)
			tt.first(c)
			msgs, frames, code := c.untilClose()
			if started {
				t.Error("the call was started")
			}
			if frames != 0 {
				t.Errorf("%d audio frames sent to a refused caller", frames)
			}
			if code != tt.wantClose {
				t.Errorf("close code %d, want %d", code, tt.wantClose)
			}
			e, ok := findMsg(msgs, TypeError)
			if !ok {
				t.Fatalf("no error message before close (got %+v)", msgs)
			}
			if e.Code != tt.wantCode {
				t.Errorf("error code %q, want %q", e.Code, tt.wantCode)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(e.Message, w) {
					t.Errorf("error message %q does not mention %q", e.Message, w)
				}
			}
		})
	}
}

// TestHandlerOversizedMidCall: a message over the limit mid-call is answered with
// message_too_big and close 1009, while the call is writing audio (under -race
// this also checks the error is not written concurrently with a frame).
func TestHandlerOversizedMidCall(t *testing.T) {
	r := newRig(t, &Handler{MaxMessageBytes: 4096}, true)
	c := dialRaw(t, r.url)
	c.start("demo")
	call := r.call()
	select {
	case <-call.pumped:
	case <-time.After(wait):
		t.Fatal("no agent audio")
	}
	c.send(websocket.BinaryMessage, make([]byte, 4096)) // at the limit: fine
	c.send(websocket.BinaryMessage, make([]byte, 4097))
	msgs, frames, code := c.untilClose()
	if frames == 0 {
		t.Error("no agent audio reached the client")
	}
	if code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want 1009", code)
	}
	if e, ok := findMsg(msgs, TypeError); !ok || e.Code != "message_too_big" || !strings.Contains(e.Message, "4096") {
		t.Errorf("messages %+v: want an error message_too_big naming the limit", msgs)
	}
	if got := call.waitReason(t); got != "transport_error" {
		t.Errorf("hang-up reason %q, want transport_error", got)
	}
	call.mu.Lock()
	defer call.mu.Unlock()
	if call.frames != 6 { // 4096 bytes = 2048 samples: 6 whole frames, the rest waits for more audio
		t.Errorf("call got %d frames, want 6", call.frames)
	}
}

func TestHandlerProtocolErrorsMidCall(t *testing.T) {
	r := newRig(t, &Handler{MaxErrors: 4}, false)
	c := dialRaw(t, r.url)
	c.start("demo")
	call := r.call()
	c.text(`{"type":"dtmf","digit":"X"}`)
	m, _, err := c.next()
	if err != nil || m.Type != TypeError || m.Code != "protocol_error" || !strings.Contains(m.Message, "dtmf.digit") {
		t.Fatalf("answer to a bad dtmf: %+v, %v", m, err)
	}
	c.text(`{"type":"start","agent":"demo"}`)
	m, _, err = c.next()
	if err != nil || m.Type != TypeError || !strings.Contains(m.Message, "already") {
		t.Fatalf("answer to a second start: %+v, %v", m, err)
	}
	// The call goes on: audio still reaches it.
	c.send(websocket.BinaryMessage, make([]byte, 640))
	c.text(`not json`)
	c.text(`{"type":"wat"}`) // the fourth error closes the connection
	msgs, _, code := c.untilClose()
	if code != websocket.ClosePolicyViolation {
		t.Errorf("close code %d, want 1008", code)
	}
	if len(msgs) == 0 || msgs[len(msgs)-1].Type != TypeError || !strings.Contains(msgs[len(msgs)-1].Message, "too many") {
		t.Errorf("messages before close %+v: want the last to be an error saying too many errors", msgs)
	}
	if got := call.waitReason(t); got != "transport_error" {
		t.Errorf("hang-up reason %q, want transport_error", got)
	}
	call.mu.Lock()
	defer call.mu.Unlock()
	if call.frames != 1 {
		t.Errorf("call got %d frames, want 1", call.frames)
	}
}

func TestHandlerClientGoesAway(t *testing.T) {
	tests := []struct {
		name string
		h    Handler
		act  func(c *raw)
		want string
	}{
		{"close 1000 without stop", Handler{}, func(c *raw) {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wait))
		}, "caller_hangup"},
		{"close 1001", Handler{}, func(c *raw) {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(wait))
		}, "caller_hangup"},
		{"TCP dropped", Handler{}, func(c *raw) { c.ws.UnderlyingConn().Close() }, "transport_error"},
		// Neither reads nor writes: no pongs, so the read deadline ends the call.
		{"silent", Handler{ReadTimeout: 300 * time.Millisecond, PingInterval: 50 * time.Millisecond}, func(c *raw) {}, "transport_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			r := newRig(t, &h, false)
			c := dialRaw(t, r.url)
			c.start("demo")
			call := r.call()
			tt.act(c)
			if got := call.waitReason(t); got != tt.want {
				t.Errorf("hang-up reason %q, want %q", got, tt.want)
			}
		})
	}
}

// TestHandlerPongsKeepCallAlive: a quiet caller that answers pings is not cut off.
func TestHandlerPongsKeepCallAlive(t *testing.T) {
	r := newRig(t, &Handler{ReadTimeout: time.Second, PingInterval: 50 * time.Millisecond}, false)
	cl, err := Dial(context.Background(), r.url, nil, Control{Agent: "demo"}, ClientHandler{})
	if err != nil {
		t.Fatal(err)
	}
	call := r.call()
	select {
	case reason := <-call.reason:
		t.Fatalf("a caller answering pings was hung up (%s)", reason)
	case <-time.After(3 * time.Second): // three read timeouts with no message from the client
	}
	if err := cl.Hangup(); err != nil {
		t.Fatal(err)
	}
	if got := call.waitReason(t); got != "caller_hangup" {
		t.Errorf("hang-up reason %q", got)
	}
	<-cl.Done()
	if err := cl.Err(); err != nil {
		t.Errorf("client: %v", err)
	}
}

func TestHandlerAgentHangsUp(t *testing.T) {
	r := newRig(t, &Handler{}, false)
	var stops []string
	var mu sync.Mutex
	cl, err := Dial(context.Background(), r.url, nil, Control{Agent: "demo"}, ClientHandler{
		OnStop: func(reason string) { mu.Lock(); stops = append(stops, reason); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	call := r.call()
	call.Hangup("agent_hangup")
	select {
	case <-cl.Done():
	case <-time.After(wait):
		t.Fatal("the client was not disconnected")
	}
	if err := cl.Err(); err != nil {
		t.Errorf("client saw %v, want a normal close", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(stops) != "[agent_hangup]" {
		t.Errorf("stop messages %v", stops)
	}
}

// TestHandlerEvents checks the start.events filter, order, and that events
// queued when the call ends reach the client before stop.
func TestHandlerEvents(t *testing.T) {
	r := newRig(t, &Handler{}, false)
	var mu sync.Mutex
	var got []string
	cl, err := Dial(context.Background(), r.url, nil, Control{Agent: "demo", Events: []string{"call.*", "dtmf.received"}}, ClientHandler{
		OnEvent: func(e ClientEvent) {
			mu.Lock()
			got = append(got, fmt.Sprintf("%s#%d", e.Type, e.Sequence))
			mu.Unlock()
		},
		OnStop: func(reason string) { mu.Lock(); got = append(got, "stop:"+reason); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	call := r.call()
	seq := uint64(0)
	notify := func(typ string) {
		seq++
		call.conn.Notify(&events.Event{Type: typ, CallID: call.id, Sequence: seq, Timestamp: time.Now()})
	}
	for _, typ := range []string{"call.started", "speech.started", "dtmf.received", "agent.response", "call.ended"} {
		notify(typ)
	}
	call.Hangup("agent_hangup")
	<-cl.Done()
	mu.Lock()
	defer mu.Unlock()
	if want := "[call.started#1 dtmf.received#3 call.ended#5 stop:agent_hangup]"; fmt.Sprint(got) != want {
		t.Errorf("client got %v, want %s", got, want)
	}
}

// TestHandlerConcurrentFirstCalls starts calls on a fresh Handler at once (its
// defaults are applied per request; -race checks nothing is shared unsafely).
func TestHandlerConcurrentFirstCalls(t *testing.T) {
	r := newRig(t, &Handler{}, true)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := Dial(context.Background(), r.url, nil, Control{Agent: "demo"}, ClientHandler{})
			if err != nil {
				errs <- err
				return
			}
			errs <- cl.Hangup()
			<-cl.Done()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for range n {
		r.call().waitReason(t)
	}
}

func TestHandlerAuthAndOrigin(t *testing.T) {
	h := &Handler{Authenticate: func(r *http.Request) error {
		if r.Header.Get("Authorization") != "Bearer ok" {
			return errors.New("missing or invalid token")
		}
		return nil
	}}
	r := newRig(t, h, false)
	_, err := Dial(context.Background(), r.url, nil, Control{Agent: "demo"}, ClientHandler{})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("dial without token: %v, want HTTP 401", err)
	}
	hdr := http.Header{"Authorization": {"Bearer ok"}, "Origin": {"https://evil.example"}}
	_, err = Dial(context.Background(), r.url, hdr, Control{Agent: "demo"}, ClientHandler{})
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Errorf("cross-origin dial: %v, want HTTP 403", err)
	}
	cl, err := Dial(context.Background(), r.url, http.Header{"Authorization": {"Bearer ok"}}, Control{Agent: "demo"}, ClientHandler{})
	if err != nil {
		t.Fatal(err)
	}
	_ = cl.Hangup()
	r.call().waitReason(t)
	<-cl.Done()
}

func TestDialRefused(t *testing.T) {
	h := &Handler{Start: func(ctx context.Context, req StartRequest, conn *Conn) (CallHandle, error) {
		return nil, &RefusalError{Code: "capacity", CloseCode: websocket.CloseTryAgainLater, Err: errors.New("server is at its limit of 1 concurrent calls")}
	}}
	r := newRig(t, h, false)
	_, err := Dial(context.Background(), r.url, nil, Control{Agent: "demo"}, ClientHandler{})
	if err == nil || !strings.Contains(err.Error(), "capacity") || !strings.Contains(err.Error(), "limit of 1") {
		t.Errorf("Dial = %v, want the refusal code and message", err)
	}
}

func TestHandlerStartTimeout(t *testing.T) {
	r := newRig(t, &Handler{StartTimeout: 200 * time.Millisecond}, false)
	c := dialRaw(t, r.url)
	if _, _, code := c.untilClose(); code != websocket.ClosePolicyViolation {
		t.Errorf("close code %d, want 1008", code)
	}
}

// TestNotifyNeverBlocks: a client that stops reading makes events pile up; Notify
// drops and counts them instead of blocking the call.
func TestNotifyNeverBlocks(t *testing.T) {
	// A long write timeout keeps the writer stuck on the full socket while the
	// events pile up (after a timed-out write it would discard them at once).
	r := newRig(t, &Handler{WriteTimeout: wait}, false)
	c := dialRaw(t, r.url)
	c.start("demo")
	call := r.call()
	big := strings.Repeat("x", 16<<10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 4000 { // 64 MB: more than the socket buffers hold
			call.conn.Notify(&events.Event{Type: "speech.partial", Sequence: uint64(i + 1), Payload: map[string]any{"text": big}})
		}
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Notify blocked on a client that does not read")
	}
	if call.conn.DroppedEvents() == 0 {
		t.Error("no event was dropped")
	}
	c.ws.UnderlyingConn().Close()
	if got := call.waitReason(t); got != "transport_error" {
		t.Errorf("hang-up reason %q", got)
	}
}
