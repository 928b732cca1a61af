package vonage

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
)

// TestConformance16k replays a Vonage call at 16 kHz (testdata/README.md says
// where each shape comes from): websocket:connected, binary audio, dtmf in both
// shapes; and checks what Parley sends back: 640-byte binary frames, a notify
// per 100 ms, clear, and the playback accounting around websocket:notify and
// websocket:cleared. The socket closing ends the call as caller_hangup.
func TestConformance16k(t *testing.T) {
	r := newRig(t, &Handler{})
	c := carriertest.Dial(t, r.url)
	c.Text(fixture(t, "connected.json"))
	call, conn, req := r.call(t)
	conn.c.SetIdleAfter(time.Hour) // this test flushes itself
	if req.Agent != "demo" || req.From != "447700900123" || req.To != "447700900000" ||
		req.CallID != "63f61863-4a51-4f6b-86e1-46edebcf9356" || req.Metadata["tenant"] != "acme" ||
		req.Metadata["content-type"] != "audio/l16;rate=16000" || req.RemoteAddr == "" {
		t.Fatalf("start request %+v", req)
	}

	// 0.5 s of tone in 20 ms binary frames: at 16 kHz it reaches the call unchanged.
	pcm, raw := tone(8000, 16000)
	for i := 0; i < len(raw); i += 640 {
		c.Send(websocket.BinaryMessage, raw[i:i+640])
	}
	c.Text(fixture(t, "dtmf.json"))
	c.Text(fixture(t, "dtmf_nested.json"))
	call.WaitFor(t, "two digits", func(c *carriertest.Call) bool { _, _, _, d, _ := c.Snapshot(); return len(d) == 2 })
	audio, frames, sizes, dtmf, _ := call.Snapshot()
	if frames != 25 || sizes[320] != 25 || !slices.Equal(audio, pcm) {
		t.Fatalf("call got %d frames (sizes %v); want the 25 frames sent, unchanged", frames, sizes)
	}
	if !slices.Equal(dtmf, []string{"5", "#"}) {
		t.Fatalf("dtmf %v", dtmf)
	}

	// Agent audio: 7 frames then a pause.
	out, _ := tone(7*320, 16000)
	for i := 0; i < len(out); i += 320 {
		if err := conn.WriteFrame(out[i : i+320]); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []int16
	var order string
	var names []string
	for len(names) < 2 {
		kind, data := c.MustNext()
		if kind == websocket.BinaryMessage {
			if len(data) != 640 {
				t.Fatalf("binary frame of %d bytes, want 640", len(data))
			}
			for i := 0; i < len(data); i += 2 {
				got = append(got, int16(binary.LittleEndian.Uint16(data[i:])))
			}
			order += "a"
			continue
		}
		var n struct {
			Action  string            `json:"action"`
			Payload map[string]string `json:"payload"`
		}
		if err := json.Unmarshal(data, &n); err != nil || n.Action != "notify" || n.Payload["name"] == "" {
			t.Fatalf("text frame %s: want {\"action\":\"notify\",\"payload\":{\"name\":…}}", data)
		}
		names = append(names, n.Payload["name"])
		order += "N"
	}
	if order != "aaaaaNaaN" || !slices.Equal(got, out) {
		t.Fatalf("frames %q (want aaaaaNaaN), audio unchanged: %v", order, slices.Equal(got, out))
	}

	// Vonage reaches the first notify; then barge-in.
	c.Text(strings.Replace(fixture(t, "notify.json"), "NAME", names[0], 1))
	call.WaitFor(t, "the notify", func(c *carriertest.Call) bool { _, _, _, _, m := c.Snapshot(); return len(m) == 1 })
	if err := conn.Clear(); err != nil {
		t.Fatal(err)
	}
	if kind, data := c.MustNext(); kind != websocket.TextMessage || string(data) != `{"action":"clear"}` {
		t.Fatalf("after Clear: %s, want {\"action\":\"clear\"}", data)
	}
	if got := conn.ClearedUnheard(); got != 2*320 {
		t.Fatalf("ClearedUnheard %d, want 640", got)
	}
	c.Text(fixture(t, "cleared.json"))
	// A late notify for cleared audio is not a mark.
	c.Text(strings.Replace(fixture(t, "notify.json"), "NAME", names[1], 1))
	c.Text(fixture(t, "dtmf.json"))
	call.WaitFor(t, "a third digit", func(c *carriertest.Call) bool { _, _, _, d, _ := c.Snapshot(); return len(d) == 3 })
	if _, _, _, _, m := call.Snapshot(); !slices.Equal(m, names[:1]) {
		t.Fatalf("marks %v, want %v", m, names[:1])
	}

	// No stop event: the caller hanging up closes the socket.
	_ = c.WS.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	c.UntilClose()
	if got := call.Reason(t); got != "caller_hangup" {
		t.Fatalf("reason %q, want caller_hangup", got)
	}
}

// TestConformanceRates: at 8 and 24 kHz Parley resamples both ways and sends
// frames of exactly 320 and 960 bytes, padding the last one.
func TestConformanceRates(t *testing.T) {
	for _, tc := range []struct{ rate, bytes int }{{8000, 320}, {24000, 960}} {
		t.Run(strconv.Itoa(tc.rate), func(t *testing.T) {
			r := newRig(t, &Handler{})
			c := carriertest.Dial(t, r.url+"?agent=demo")
			c.Text(strings.Replace(fixture(t, "connected.json"), "rate=16000", "rate="+strconv.Itoa(tc.rate), 1))
			call, conn, _ := r.call(t)
			_, raw := tone(tc.rate/2, tc.rate) // 0.5 s in 20 ms frames
			for i := 0; i < len(raw); i += tc.bytes {
				c.Send(websocket.BinaryMessage, raw[i:i+tc.bytes])
			}
			call.WaitFor(t, "24 frames at 16 kHz", func(c *carriertest.Call) bool { return c.Frames() >= 24 })
			// No Flush: the pause timer must pad the last frame and send a notify.
			for range 3 {
				_ = conn.WriteFrame(make([]int16, 320))
			}
			audio := 0
			for notifies := 0; notifies < 1; {
				kind, data := c.MustNext()
				if kind == websocket.TextMessage {
					notifies++
					continue
				}
				if len(data) != tc.bytes {
					t.Fatalf("binary frame of %d bytes, want %d", len(data), tc.bytes)
				}
				audio++
			}
			if audio < 3 || audio > 4 {
				t.Fatalf("%d audio frames for 60 ms, want 3 or 4 (the resampler's tail padded)", audio)
			}
			_ = c.WS.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""))
			c.UntilClose()
			call.Reason(t)
		})
	}
}
