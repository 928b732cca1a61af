package plivo

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/internal/carrier"
	"github.com/parley-voice/parley/media/internal/carrier/carriertest"
)

// out is a message Parley sent to Plivo.
type out struct {
	Event    string `json:"event"`
	StreamID string `json:"streamId"`
	Name     string `json:"name"`
	Media    *struct {
		ContentType string `json:"contentType"`
		SampleRate  int    `json:"sampleRate"`
		Payload     string `json:"payload"`
	} `json:"media"`
	raw map[string]json.RawMessage
}

func readOut(t *testing.T, c *carriertest.Client) out {
	t.Helper()
	kind, data := c.MustNext()
	if kind != websocket.TextMessage {
		t.Fatal("Parley sent a binary frame to Plivo")
	}
	var m out
	if err := json.Unmarshal(data, &m); err != nil || json.Unmarshal(data, &m.raw) != nil {
		t.Fatalf("invalid JSON %s", data)
	}
	want := map[string]int{"playAudio": 2, "checkpoint": 3, "clearAudio": 2}[m.Event]
	if len(m.raw) != want {
		t.Fatalf("message %s: unexpected event or fields", data)
	}
	return m
}

// TestConformance replays each documented stream (testdata/README.md says
// where each shape comes from and how sure it is) and checks the call's audio,
// and the playAudio, checkpoint and clearAudio Parley sends back, with the
// accounting of playedStream and clearedAudio.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		file, contentType string
		f                 carrier.Format
		chunk             int
	}{
		{"stream_mulaw.jsonl", "audio/x-mulaw", carrier.Format{Encoding: carrier.Mulaw, Rate: 8000}, 160},
		{"stream_l16.jsonl", "audio/x-l16", carrier.Format{Encoding: carrier.L16LE, Rate: 8000}, 320},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			r := newRig(t, &Handler{})
			c := carriertest.Dial(t, r.url)
			lines := readLines(t, tc.file)
			for _, l := range lines {
				c.Text(l)
			}
			call, conn, req := r.call(t)
			conn.c.SetIdleAfter(time.Hour) // this test flushes itself
			if req.Agent != "demo" || req.CallID != "ba8f3e6a-1d2c-4b6e-9f0a-3c1d2e4f5a6b" || req.From != "+14155550100" ||
				req.To != "+14155550199" || req.Metadata["stream_id"] != "20170ada-f610-433b-8758-c02a2aab3662" ||
				req.Metadata["account_id"] != "MAXXXXXXXXXXXXXXXXXX" {
				t.Fatalf("start request %+v", req)
			}
			var want []int16
			in, _ := carrier.NewInbound(tc.f)
			for _, l := range lines {
				if m, _ := Parse([]byte(l)); m.Event == EventMedia {
					in.Write(m.Media.Payload, func(f []int16) { want = append(want, f...) })
				}
			}
			call.WaitFor(t, "the dtmf", func(c *carriertest.Call) bool { _, _, _, d, _ := c.Snapshot(); return len(d) == 1 })
			audio, _, _, dtmf, _ := call.Snapshot()
			if len(want) < 9*320 || !slices.Equal(audio, want) || !slices.Equal(dtmf, []string{"5"}) {
				t.Fatalf("call got %d samples (want %d, the stream decoded) and dtmf %v", len(audio), len(want), dtmf)
			}
			// And the decoded tone is not silence.
			if peak := slices.Max(audio[640:]); peak < 7000 || peak > 9000 {
				t.Fatalf("inbound peak %d, want about 8000", peak)
			}

			for range 6 {
				_ = conn.WriteFrame(make([]int16, 320))
			}
			_ = conn.Flush()
			var seq string
			var names []string
			for len(names) < 2 {
				m := readOut(t, c)
				switch m.Event {
				case "playAudio":
					p, err := base64.StdEncoding.DecodeString(m.Media.Payload)
					if err != nil || len(p) != tc.chunk || m.Media.ContentType != tc.contentType || m.Media.SampleRate != 8000 {
						t.Fatalf("playAudio %+v: want %d bytes of %s at 8000", m.Media, tc.chunk, tc.contentType)
					}
					seq += "a"
				case "checkpoint":
					if m.StreamID != "20170ada-f610-433b-8758-c02a2aab3662" || m.Name == "" {
						t.Fatalf("checkpoint %+v", m)
					}
					names = append(names, m.Name)
					seq += "C"
				default:
					t.Fatalf("unexpected %s", m.Event)
				}
			}
			if !strings.HasPrefix(seq, "aaaaaC") || strings.Count(seq, "a") < 6 || strings.Count(seq, "a") > 7 {
				t.Fatalf("messages %q: want 5 playAudio, a checkpoint, the rest, a checkpoint", seq)
			}
			c.Text(strings.Replace(readLines(t, "played.json")[0], "NAME", names[0], 1))
			call.WaitFor(t, "the checkpoint", func(c *carriertest.Call) bool { _, _, _, _, m := c.Snapshot(); return len(m) == 1 })
			if err := conn.Clear(); err != nil {
				t.Fatal(err)
			}
			if m := readOut(t, c); m.Event != "clearAudio" || m.StreamID != "20170ada-f610-433b-8758-c02a2aab3662" {
				t.Fatalf("after Clear: %+v, want clearAudio with the streamId", m)
			}
			if got := conn.ClearedUnheard(); got != 320 {
				t.Fatalf("ClearedUnheard %d, want 320 (6 frames written, 5 confirmed)", got)
			}
			c.Text(readLines(t, "cleared.json")[0])
			c.Text(strings.Replace(readLines(t, "played.json")[0], "NAME", names[1], 1))
			c.Text(`{"event":"dtmf","dtmf":{"digit":"9"}}`)
			call.WaitFor(t, "the second dtmf", func(c *carriertest.Call) bool { _, _, _, d, _ := c.Snapshot(); return len(d) == 2 })
			if _, _, _, _, m := call.Snapshot(); !slices.Equal(m, names[:1]) {
				t.Fatalf("marks %v, want %v (a checkpoint dropped by clearAudio is not played)", m, names[:1])
			}
			// Plivo ends the stream by closing the socket.
			_ = c.WS.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			c.UntilClose()
			if got := call.Reason(t); got != "caller_hangup" {
				t.Fatalf("reason %q", got)
			}
		})
	}
}

// TestConformanceL16At16k: a stream at audio/x-l16;rate=16000 passes audio
// through unchanged and answers with 640-byte playAudio at 16000.
func TestConformanceL16At16k(t *testing.T) {
	r := newRig(t, &Handler{})
	c := carriertest.Dial(t, r.url+"?agent=demo")
	c.Text(strings.Replace(readLines(t, "stream_l16.jsonl")[0], `"sampleRate":8000`, `"sampleRate":16000`, 1))
	call, conn, _ := r.call(t)
	conn.c.SetIdleAfter(time.Hour) // this test flushes itself
	frame := make([]int16, 320)
	for i := range frame {
		frame[i] = int16(i * 50)
	}
	_ = conn.WriteFrame(frame)
	m := readOut(t, c)
	p, _ := base64.StdEncoding.DecodeString(m.Media.Payload)
	if m.Event != "playAudio" || m.Media.SampleRate != 16000 || len(p) != 640 || p[2] != 50 || p[3] != 0 {
		t.Fatalf("%+v (%d bytes): want 640 bytes of little-endian L16 at 16000", m.Media, len(p))
	}
	c.Text(`{"event":"stop"}`)
	c.UntilClose()
	if got := call.Reason(t); got != "caller_hangup" {
		t.Fatalf("reason %q", got)
	}
}
