package cartesia

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStreamsChunksBeforeDone(t *testing.T) {
	want := tone(3 * 1600)
	body := pcmBytes(want)
	firstSeen := make(chan struct{})
	var lastSent atomic.Bool
	f := newFakeServer(t, func(ws *websocket.Conn, r generationRequest) {
		ws.WriteJSON(map[string]any{"type": "chunk", "context_id": "someone-else", "data": "AAAA"}) // ignored
		cuts := []int{0, 3201, 6401, len(body)}
		for i := 0; i+1 < len(cuts); i++ {
			if i == len(cuts)-2 {
				lastSent.Store(true)
			}
			sendChunk(ws, r.ContextID, body[cuts[i]:cuts[i+1]])
			if i == 0 {
				select {
				case <-firstSeen:
				case <-time.After(3 * time.Second):
				}
			}
		}
		ws.WriteJSON(map[string]any{"type": "timestamps", "context_id": r.ContextID, "done": false,
			"word_timestamps": map[string]any{"words": []string{"Your"}, "start": []float64{0}, "end": []float64{0.2}}})
		sendDone(ws, r.ContextID)
		drain(ws)
	})
	c := f.client(t, Config{Model: "sonic-3", Voice: "voice-123"})
	var got []int16
	chunks := 0
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "Your order ships today.", SampleRate: 16000, Language: "fr-FR"},
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
	if chunks != 3 || len(got) != len(want) {
		t.Fatalf("%d chunks, %d samples; want 3, %d", chunks, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
		}
	}
	r := f.requests()[0]
	if r.Header.Get("X-API-Key") != testKey || r.Header.Get("Cartesia-Version") != DefaultVersion || len(r.Query) != 0 {
		t.Errorf("auth: headers %v query %v", r.Header, r.Query)
	}
	q := r.Req
	if q.ContextID == "" || q.ModelID != "sonic-3" || q.Transcript != "Your order ships today." || q.Voice != (voice{"id", "voice-123"}) ||
		q.OutputFormat != (outputFormat{"raw", "pcm_s16le", 16000}) || q.Language != "fr" || q.Continue {
		t.Errorf("request = %+v", q)
	}
	if c, ok := r.Raw["continue"]; !ok || c != false {
		t.Errorf("continue not sent as false: %v", r.Raw)
	}
}

func TestKeyInQuery(t *testing.T) {
	f := newFakeServer(t, func(ws *websocket.Conn, r generationRequest) {
		sendDone(ws, r.ContextID)
		drain(ws)
	})
	c := f.client(t, Config{KeyInQuery: true, Version: "2024-11-13"})
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 8000}, nil); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.Query["api_key"] != testKey || r.Query["cartesia_version"] != "2024-11-13" || r.Header.Get("X-API-Key") != "" {
		t.Errorf("query %v", r.Query)
	}
}

func TestSampleRates(t *testing.T) {
	// The fake answers one second at the requested rate.
	f := newFakeServer(t, func(ws *websocket.Conn, r generationRequest) {
		b := pcmBytes(tone(r.OutputFormat.SampleRate))
		for i := 0; i < len(b); i += 4000 {
			sendChunk(ws, r.ContextID, b[i:min(i+4000, len(b))])
		}
		sendDone(ws, r.ContextID)
		drain(ws)
	})
	c := f.client(t, Config{})
	for _, tc := range []struct{ rate, asked int }{{8000, 8000}, {16000, 16000}, {48000, 48000}, {12000, 16000}, {96000, 48000}} {
		n := 0
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hello", SampleRate: tc.rate}, func(pcm []int16) error {
			n += len(pcm)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rs := f.requests()
		if got := rs[len(rs)-1].Req.OutputFormat.SampleRate; got != tc.asked {
			t.Errorf("%d Hz: asked for %d", tc.rate, got)
		}
		if n != tc.rate {
			t.Errorf("1 s at %d Hz gave %d samples", tc.rate, n)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		msg      string
		status   int
		fallback bool
	}{
		{`{"type":"error","context_id":"%s","done":true,"status_code":400,"error":"Invalid voice ID for key ` + testKey + `"}`, 400, false},
		{`{"type":"error","context_id":"%s","done":true,"status_code":429,"error":"Too many concurrent requests"}`, 429, true},
		{`{"type":"error","context_id":"%s","done":true,"status_code":500,"title":"Internal error","message":"try again","error_code":"internal_error"}`, 500, true},
		{`{"type":"error","context_id":"%s","done":true,"title":"Invalid request","message":"transcript too long","error_code":"invalid_request"}`, 0, false},
	} {
		f := newFakeServer(t, func(ws *websocket.Conn, r generationRequest) {
			ws.WriteMessage(websocket.TextMessage, []byte(strings.Replace(tc.msg, "%s", r.ContextID, 1)))
			drain(ws)
		})
		c := f.client(t, Config{})
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error {
			t.Error("sink called on an error")
			return nil
		})
		var pe *pipeline.ProviderError
		var se *ServerError
		if !errors.As(err, &pe) || pe.Provider != ProviderName || pe.Stage != "tts" || pe.Status != tc.status || !errors.As(err, &se) {
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

func TestHandshakeRefused(t *testing.T) {
	f := newFakeServer(t, nil)
	for _, cfg := range []Config{{APIKey: "wrong-" + testKey}, {APIKey: "wrong-" + testKey, KeyInQuery: true}} {
		c := f.client(t, cfg)
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
		var pe *pipeline.ProviderError
		var he *HandshakeError
		if !errors.As(err, &pe) || pe.Status != 401 || !errors.As(err, &he) || pipeline.ShouldFallback(err) {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("key in error %q", err)
		}
	}
	c, _ := New(Config{APIKey: testKey, Voice: "v", URL: "ws://127.0.0.1:1/tts/websocket", KeyInQuery: true})
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	if !pipeline.ShouldFallback(err) || strings.Contains(err.Error(), testKey) {
		t.Errorf("unreachable: err = %v", err)
	}
}

func TestConnectionCutMidStream(t *testing.T) {
	f := newFakeServer(t, func(ws *websocket.Conn, r generationRequest) {
		sendChunk(ws, r.ContextID, pcmBytes(tone(1600)))
		ws.UnderlyingConn().Close() // no close frame, no done
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
}

func TestCloseCode(t *testing.T) {
	f := newFakeServer(t, func(ws *websocket.Conn, r generationRequest) {
		ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "overloaded"))
		drain(ws)
	})
	err := f.client(t, Config{}).Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	var se *ServerError
	if !errors.As(err, &se) || !pipeline.ShouldFallback(err) {
		t.Errorf("err = %v", err)
	}
}

func TestFirstAudioTimeout(t *testing.T) {
	f := newFakeServer(t, func(ws *websocket.Conn, _ generationRequest) { drain(ws) })
	c := f.client(t, Config{FirstAudioTimeout: 100 * time.Millisecond})
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	if !errors.Is(err, pipeline.ErrFirstByteTimeout) || !pipeline.ShouldFallback(err) {
		t.Fatalf("err = %v", err)
	}
	ctx := pipeline.WithFirstTokenDeadline(context.Background(), time.Now().Add(100*time.Millisecond))
	if err := f.client(t, Config{}).Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil); !errors.Is(err, pipeline.ErrFirstByteTimeout) {
		t.Errorf("deadline from ctx: err = %v", err)
	}
}

func TestSinkErrorAndCancel(t *testing.T) {
	f := newFakeServer(t, func(ws *websocket.Conn, r generationRequest) {
		sendChunk(ws, r.ContextID, pcmBytes(tone(160)))
		drain(ws) // never done
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
	f = newFakeServer(t, func(ws *websocket.Conn, _ generationRequest) { drain(ws) })
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = f.client(t, Config{}).Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, nil)
	if !errors.Is(err, context.Canceled) || pipeline.ShouldFallback(err) {
		t.Errorf("cancelled while waiting: got %v", err)
	}
}

func TestEmptyTextBadRateNoKeyNoVoice(t *testing.T) {
	c, err := New(Config{APIKey: testKey, URL: "ws://127.0.0.1:1/tts/websocket"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: " ", SampleRate: 16000}, nil); err != nil {
		t.Errorf("empty text: %v", err)
	}
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "x", Voice: "v"}, nil); !errors.Is(err, pipeline.ErrUnsupportedRate) {
		t.Errorf("rate 0: %v", err)
	}
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "x", SampleRate: 16000}, nil); !errors.Is(err, ErrNoVoice) {
		t.Errorf("no voice: %v", err)
	}
	if _, err := New(Config{}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("no key: %v", err)
	}
}
