package elevenlabs

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStreamsChunksBeforeTheEnd(t *testing.T) {
	want := tone(3 * 1600)
	body := pcmBytes(want)
	firstSeen := make(chan struct{})
	var lastSent atomic.Bool
	f := newFakeServer(t, func(ws *websocket.Conn) {
		// Odd-sized pieces: a sample straddles two messages.
		cuts := []int{0, 3201, 6401, len(body)}
		for i := 0; i+1 < len(cuts); i++ {
			if i == len(cuts)-2 {
				lastSent.Store(true)
			}
			sendAudio(ws, body[cuts[i]:cuts[i+1]])
			if i == 0 {
				select {
				case <-firstSeen:
				case <-time.After(3 * time.Second):
				}
			}
		}
		sendFinal(ws)
		drain(ws)
	})
	stab := 0.4
	c := f.client(t, Config{Voice: "voice-abc", Model: "eleven_flash_v2_5", VoiceSettings: VoiceSettings{Stability: &stab},
		ChunkLengthSchedule: []int{50}})
	var got []int16
	chunks := 0
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "Your order ships today.", SampleRate: 16000, Language: "en-GB", Rate: 350},
		func(pcm []int16) error {
			if chunks == 0 {
				if lastSent.Load() {
					t.Error("first chunk reached the sink only after the last message was sent")
				}
				close(firstSeen)
			}
			chunks++
			got = append(got, pcm...)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if chunks != 3 {
		t.Errorf("%d chunks, want 3", chunks)
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
		}
	}
	s := f.sessions()[0]
	if s.Path != "/v1/text-to-speech/voice-abc/stream-input" || s.Query["model_id"] != "eleven_flash_v2_5" ||
		s.Query["output_format"] != "pcm_16000" || s.Query["language_code"] != "en" {
		t.Errorf("path %s query %v", s.Path, s.Query)
	}
	if _, ok := s.Query["xi_api_key"]; ok {
		t.Error("key sent in the URL")
	}
	if len(s.Msgs) != 3 {
		t.Fatalf("messages %s", toJSON(s.Msgs))
	}
	if got := toJSON(s.Msgs[0]); got != `{"generation_config":{"chunk_length_schedule":[50]},"text":" ","voice_settings":{"speed":1.2,"stability":0.4}}` {
		t.Errorf("init = %s", got)
	}
	if got := toJSON(s.Msgs[1]); got != `{"text":"Your order ships today. ","try_trigger_generation":true}` {
		t.Errorf("text = %s", got)
	}
	if got := toJSON(s.Msgs[2]); got != `{"text":""}` {
		t.Errorf("end = %s", got)
	}
}

func TestSampleRates(t *testing.T) {
	// The fake answers one second at whatever rate output_format asked for.
	var srv *fakeServer
	srv = newFakeServer(t, func(ws *websocket.Conn) {
		s := srv.sessions()
		var rate int
		for _, r := range Rates {
			if s[len(s)-1].Query["output_format"] == "pcm_"+strconv.Itoa(r) {
				rate = r
			}
		}
		b := pcmBytes(tone(rate))
		for i := 0; i < len(b); i += 4000 {
			sendAudio(ws, b[i:min(i+4000, len(b))])
		}
		sendFinal(ws)
		drain(ws)
	})
	c := srv.client(t, Config{})
	for _, tc := range []struct{ rate, format int }{{8000, 8000}, {16000, 16000}, {24000, 24000}, {12000, 16000}, {48000, 44100}} {
		n := 0
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hello", SampleRate: tc.rate}, func(pcm []int16) error {
			n += len(pcm)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s := srv.sessions()
		if got := s[len(s)-1].Query["output_format"]; got != "pcm_"+strconv.Itoa(tc.format) {
			t.Errorf("%d Hz: output_format %s", tc.rate, got)
		}
		if n != tc.rate {
			t.Errorf("1 s at %d Hz gave %d samples", tc.rate, n)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		msg      string
		fallback bool
	}{
		{`{"message":"quota exceeded for key ` + testKey + `","error":"quota_exceeded","code":1008}`, false},
		{`{"message":"Too many concurrent requests","error":"rate_limit_exceeded","code":1008}`, true},
		{`{"message":"something broke","error":"internal_server_error"}`, true},
	} {
		f := newFakeServer(t, func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.TextMessage, []byte(tc.msg))
			drain(ws)
		})
		c := f.client(t, Config{})
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error {
			t.Error("sink called on an error")
			return nil
		})
		var pe *pipeline.ProviderError
		var se *ServerError
		if !errors.As(err, &pe) || pe.Provider != ProviderName || pe.Stage != "tts" || !errors.As(err, &se) {
			t.Fatalf("%s: err = %v", tc.msg, err)
		}
		if pipeline.ShouldFallback(err) != tc.fallback {
			t.Errorf("%s: ShouldFallback = %v", tc.msg, !tc.fallback)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("key in error %q", err)
		}
	}
}

func TestCloseCodes(t *testing.T) {
	for _, tc := range []struct {
		code     int
		reason   string
		fallback bool
	}{
		{websocket.ClosePolicyViolation, "invalid voice_id for " + testKey, false},
		{websocket.CloseInternalServerErr, "oops", true},
		{websocket.CloseTryAgainLater, "busy", true},
	} {
		f := newFakeServer(t, func(ws *websocket.Conn) {
			ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(tc.code, tc.reason))
			drain(ws)
		})
		c := f.client(t, Config{})
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error { return nil })
		var se *ServerError
		if !errors.As(err, &se) || pipeline.ShouldFallback(err) != tc.fallback || errors.Is(err, pipeline.ErrStreamCut) {
			t.Errorf("close %d: err = %v, fallback %v", tc.code, err, pipeline.ShouldFallback(err))
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("key in error %q", err)
		}
	}
}

func TestHandshakeRefused(t *testing.T) {
	f := newFakeServer(t, nil)
	c := f.client(t, Config{APIKey: "wrong-" + testKey})
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	var pe *pipeline.ProviderError
	var he *HandshakeError
	if !errors.As(err, &pe) || pe.Status != 401 || !errors.As(err, &he) || pipeline.ShouldFallback(err) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("key in error %q", err)
	}
	// Nothing listening: retryable, and the key is nowhere.
	c, _ = New(Config{APIKey: testKey, BaseURL: "ws://127.0.0.1:1/v1"})
	err = c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	if !pipeline.ShouldFallback(err) || strings.Contains(err.Error(), testKey) {
		t.Errorf("unreachable: err = %v", err)
	}
}

func TestConnectionCutMidStream(t *testing.T) {
	f := newFakeServer(t, func(ws *websocket.Conn) {
		sendAudio(ws, pcmBytes(tone(1600)))
		ws.UnderlyingConn().Close() // no close frame, no isFinal
	})
	c := f.client(t, Config{})
	n := 0
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func(pcm []int16) error {
		n += len(pcm)
		return nil
	})
	if !errors.Is(err, pipeline.ErrStreamCut) || !pipeline.ShouldFallback(err) {
		t.Fatalf("err = %v, want a retryable ErrStreamCut", err)
	}
	if n != 1600 {
		t.Errorf("%d samples before the cut, want 1600", n)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("key in error %q", err)
	}
	// A normal close before isFinal is a cut too.
	f = newFakeServer(t, func(ws *websocket.Conn) {
		sendAudio(ws, pcmBytes(tone(160)))
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		drain(ws)
	})
	err = f.client(t, Config{}).Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error { return nil })
	if !errors.Is(err, pipeline.ErrStreamCut) || !pipeline.ShouldFallback(err) {
		t.Errorf("normal close before isFinal: err = %v", err)
	}
}

func TestFirstAudioTimeout(t *testing.T) {
	f := newFakeServer(t, drain)
	c := f.client(t, Config{FirstAudioTimeout: 100 * time.Millisecond})
	start := time.Now()
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	if !errors.Is(err, pipeline.ErrFirstByteTimeout) || !pipeline.ShouldFallback(err) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
	// The same through the pipeline's first-token deadline.
	c = f.client(t, Config{})
	ctx := pipeline.WithFirstTokenDeadline(context.Background(), time.Now().Add(100*time.Millisecond))
	if err := c.Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil); !errors.Is(err, pipeline.ErrFirstByteTimeout) {
		t.Errorf("deadline from ctx: err = %v", err)
	}
}

func TestSinkErrorAndCancel(t *testing.T) {
	f := newFakeServer(t, func(ws *websocket.Conn) {
		sendAudio(ws, pcmBytes(tone(160)))
		drain(ws) // never final
	})
	c := f.client(t, Config{})
	stop := errors.New("barge-in")
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error { return stop })
	if err != stop {
		t.Errorf("sink error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = c.Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled in sink: got %v", err)
	}
	// Cancelled while waiting for audio.
	f = newFakeServer(t, drain)
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = f.client(t, Config{}).Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	if !errors.Is(err, context.Canceled) || pipeline.ShouldFallback(err) {
		t.Errorf("cancelled while waiting: got %v", err)
	}
}

func TestEmptyTextBadRateNoKey(t *testing.T) {
	c, err := New(Config{APIKey: testKey, BaseURL: "ws://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "  ", SampleRate: 16000}, nil); err != nil {
		t.Errorf("empty text: %v", err)
	}
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "x"}, nil); !errors.Is(err, pipeline.ErrUnsupportedRate) {
		t.Errorf("rate 0: %v", err)
	}
	if _, err := New(Config{}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("no key: %v", err)
	}
	bad := 2.0
	if _, err := New(Config{APIKey: "k", VoiceSettings: VoiceSettings{Speed: &bad}}); err == nil {
		t.Error("speed 2 accepted")
	}
}
