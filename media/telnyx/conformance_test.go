package telnyx

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/media/internal/carrier"
	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
)

// TestConformanceStream replays testdata/stream_in.jsonl (shapes from Telnyx's
// AsyncAPI page; see testdata/README.md for how sure each is) and checks what the
// call receives and every message Parley sends back: 20 ms PCMU media, a mark
// per 100 ms, clear, and the playback accounting around them.
func TestConformanceStream(t *testing.T) {
	r := newRig(t, &Handler{})
	c := carriertest.Dial(t, r.url+"?agent=demo")
	lines := readLines(t, "testdata/stream_in.jsonl")
	for _, l := range lines {
		c.Text(l)
	}
	call, conn, req := r.call(t)
	conn.c.SetIdleAfter(time.Hour) // this test flushes itself

	if req.Agent != "demo" || req.From != "+13122123456" || req.To != "+13122123457" ||
		req.CallID != "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg" || req.RemoteAddr == "" {
		t.Errorf("start request = %+v", req)
	}
	for k, v := range map[string]string{"crm_id": "42", "stream_id": "32DE0DEA-53CB-4B21-89A4-9E1819C043BC",
		"call_session_id": "dd05e0b4-9b5e-11ee-9d7e-02420a0f7c68", "tags": "TAG1,TAG2", "client_state": "aGF2ZSBhIG5pY2UgZGF5ID1d"} {
		if req.Metadata[k] != v {
			t.Errorf("metadata[%q] = %q, want %q", k, req.Metadata[k], v)
		}
	}

	// The call gets the tone at 16 kHz, in sequence order despite the swap.
	var want []int16
	in, _ := carrier.NewInbound(carrier.Format{Encoding: carrier.Mulaw, Rate: 8000})
	var payloads [][]byte
	for _, l := range lines {
		if m, err := Parse([]byte(l)); err == nil && m.Event == EventMedia {
			payloads = append(payloads, m.Media.Payload)
		}
	}
	payloads[5], payloads[6] = payloads[6], payloads[5] // back in sequence order
	for _, p := range payloads {
		in.Write(p, func(f []int16) { want = append(want, f...) })
	}
	call.WaitFor(t, "the dtmf after the audio", func(c *carriertest.Call) bool { return c.Frames() >= len(want)/320 })
	audio, frames, sizes, dtmf, _ := call.Snapshot()
	if frames != len(want)/320 || sizes[320] != frames {
		t.Fatalf("call got %d frames, sizes %v; want %d frames of 320 samples", frames, sizes, len(want)/320)
	}
	if !slices.Equal(audio, want) {
		t.Fatalf("call audio differs from the stream decoded in sequence order")
	}
	call.WaitFor(t, "dtmf", func(c *carriertest.Call) bool { _, _, _, d, _ := c.Snapshot(); return len(d) == 1 })
	if _, _, _, dtmf, _ = call.Snapshot(); !slices.Equal(dtmf, []string{"1"}) {
		t.Errorf("dtmf %v, want [1]", dtmf)
	}

	// 7 frames of agent audio, then a pause: 20 ms PCMU media messages, a mark
	// after the fifth (100 ms) and one covering the tail.
	frame := make([]int16, 320)
	for i := range frame {
		frame[i] = int16(3000 * ((i/20)%2*2 - 1))
	}
	for range 7 {
		if err := conn.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
	var seq []string
	var marks []string
	media := 0
	var sent []int16
	for len(marks) < 2 {
		m := readOut(t, c)
		switch m.event {
		case "media":
			media++
			if len(m.audio) != 160 {
				t.Fatalf("media payload of %d bytes, want 160 (20 ms of PCMU)", len(m.audio))
			}
			seq = append(seq, "m")
			sent = codec.DecodeMulaw(sent, m.audio)
		case "mark":
			marks = append(marks, m.name)
			seq = append(seq, "M")
		default:
			t.Fatalf("unexpected %s", m.event)
		}
	}
	if got := strings.Join(seq, ""); !strings.HasPrefix(got, "mmmmmM") || media < 7 || media > 8 {
		t.Fatalf("messages %s: want 5 media, a mark, the rest of the 7-8 media, a mark", got)
	}
	// The PCMU decodes to the square wave (±3000), not to silence or noise.
	if peak := slices.Max(sent[200:800]); peak < 2500 || peak > 3600 {
		t.Fatalf("peak of the PCMU sent back %d, want about 3000", peak)
	}
	if conn.Unconfirmed() != 7*320 {
		t.Fatalf("unconfirmed %d, want %d", conn.Unconfirmed(), 7*320)
	}

	// Telnyx confirms the first mark: 100 ms heard.
	c.Text(strings.Replace(readLines(t, "testdata/mark_in.json")[0], "NAME", marks[0], 1))
	call.WaitFor(t, "the mark", func(c *carriertest.Call) bool { _, _, _, _, m := c.Snapshot(); return len(m) == 1 })
	if got := conn.Unconfirmed(); got != 7*320-1600 {
		t.Fatalf("unconfirmed after the first mark %d, want %d", got, 7*320-1600)
	}
	// Barge-in: clear goes out, the unconfirmed 40 ms count as unheard.
	if err := conn.Clear(); err != nil {
		t.Fatal(err)
	}
	if m := readOut(t, c); m.event != "clear" {
		t.Fatalf("after Clear Parley sent %q, want clear", m.event)
	}
	if got := conn.ClearedUnheard(); got != 640 {
		t.Fatalf("ClearedUnheard = %d, want 640 (7 frames written, 5 confirmed)", got)
	}
	// Telnyx returns the pending mark on clear: dropped, not played.
	c.Text(strings.Replace(readLines(t, "testdata/mark_in.json")[0], "NAME", marks[1], 1))
	c.Text(`{"event":"dtmf","sequence_number":"31","dtmf":{"digit":"#"}}`)
	call.WaitFor(t, "the second dtmf", func(c *carriertest.Call) bool { _, _, _, d, _ := c.Snapshot(); return len(d) == 2 })
	if _, _, _, _, m := call.Snapshot(); !slices.Equal(m, marks[:1]) {
		t.Fatalf("call marks %v, want only %v (the cleared mark is not played)", m, marks[:1])
	}
	if conn.ClearedUnheard() != 640 || conn.Unconfirmed() != 0 {
		t.Fatalf("after the returned mark: unheard %d unconfirmed %d, want 640 and 0", conn.ClearedUnheard(), conn.Unconfirmed())
	}

	c.Text(readLines(t, "testdata/stop.json")[0])
	_, kinds, code, _ := c.UntilClose()
	if reason := call.Reason(t); reason != "caller_hangup" {
		t.Errorf("hang-up reason %q, want caller_hangup", reason)
	}
	if code != websocket.CloseNormalClosure || slices.Contains(kinds, websocket.BinaryMessage) {
		t.Errorf("close code %d (want 1000), kinds %v", code, kinds)
	}
}

// TestConformancePCMA: a stream negotiated as PCMA is answered in PCMA.
func TestConformancePCMA(t *testing.T) {
	r := newRig(t, &Handler{})
	c := carriertest.Dial(t, r.url+"?agent=demo")
	start := strings.Replace(readLines(t, "testdata/stream_in.jsonl")[1], `"encoding":"PCMU"`, `"encoding":"PCMA"`, 1)
	c.Text(start)
	call, conn, _ := r.call(t)
	conn.c.SetIdleAfter(time.Hour) // this test flushes itself
	frame := make([]int16, 320)
	for i := range frame {
		frame[i] = 8000
	}
	for range 5 {
		_ = conn.WriteFrame(frame)
	}
	var got []int16
	for len(got) < 4*160 {
		m := readOut(t, c)
		if m.event == "media" {
			got = codec.DecodeAlaw(got, m.audio)
		}
	}
	// After the resampler's settling time the level is the constant 8000: A-law
	// decodes it close to 8000, μ-law bytes read as A-law would not.
	if s := got[3*160]; s < 7500 || s > 8500 {
		t.Fatalf("A-law sample %d, want about 8000", s)
	}
	c.Text(readLines(t, "testdata/stop.json")[0])
	c.UntilClose()
	call.Reason(t)
}
