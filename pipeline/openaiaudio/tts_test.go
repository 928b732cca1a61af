package openaiaudio

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func pcmBytes(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func tone(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16((i*91)%20000 - 10000)
	}
	return pcm
}

func TestSpeechStreamsChunksAsTheyArrive(t *testing.T) {
	want := tone(3 * 2400)
	body := pcmBytes(want)
	firstSeen := make(chan struct{})
	var lastSent atomic.Bool
	var req openai.CreateSpeechRequest
	var auth string
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set("Content-Type", "audio/pcm")
		// Odd-sized pieces: samples straddle the reads.
		cuts := []int{0, 4801, 9601, len(body)}
		for i := 0; i+1 < len(cuts); i++ {
			if i == len(cuts)-2 {
				lastSent.Store(true)
			}
			w.Write(body[cuts[i]:cuts[i+1]])
			w.(http.Flusher).Flush()
			if i == 0 {
				select {
				case <-firstSeen:
				case <-time.After(3 * time.Second):
				}
			}
		}
	}, nil)
	c := f.client(t, Config{SpeechModel: "gpt-4o-mini-tts", Voice: "coral", Instructions: "warm"})
	var got []int16
	chunks := 0
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "Your order ships today.", SampleRate: SpeechRate, Rate: 350},
		func(pcm []int16) error {
			if chunks == 0 {
				if lastSent.Load() {
					t.Error("first chunk reached the sink only after the last byte was sent")
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
	if chunks < 2 {
		t.Errorf("%d chunks, want several", chunks)
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
		}
	}
	if req.Model != "gpt-4o-mini-tts" || req.Voice != "coral" || req.ResponseFormat != "pcm" ||
		req.Input != "Your order ships today." || req.Speed != 2 || req.Instructions != "warm" {
		t.Errorf("request = %+v", req)
	}
	if auth != "Bearer "+testKey {
		t.Errorf("Authorization = %q", auth)
	}
}

func TestSpeechResampled(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(pcmBytes(tone(SpeechRate))) // 1 s
	}, nil)
	c := f.client(t, Config{})
	for _, rate := range []int{16000, 8000} {
		n := 0
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hello", SampleRate: rate}, func(pcm []int16) error {
			n += len(pcm)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != rate {
			t.Errorf("1 s at %d Hz gave %d samples", rate, n)
		}
	}
}

func TestSpeechHTTPErrors(t *testing.T) {
	for _, tc := range []struct {
		status   int
		code     string
		fallback bool
	}{{429, "rate_limit_exceeded", true}, {500, "server_error", true}, {401, "invalid_api_key", false}} {
		f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			openAIError(w, tc.status, tc.code, "try later")
		}, nil)
		c := f.client(t, Config{})
		called := false
		err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error {
			called = true
			return nil
		})
		var ae *openai.APIError
		var pe *pipeline.ProviderError
		if !errors.As(err, &ae) || ae.Code != tc.code || !errors.As(err, &pe) || pe.Status != tc.status || pe.Stage != "tts" {
			t.Fatalf("HTTP %d: err = %v", tc.status, err)
		}
		if pipeline.ShouldFallback(err) != tc.fallback {
			t.Errorf("HTTP %d: ShouldFallback = %v", tc.status, !tc.fallback)
		}
		if !strings.Contains(err.Error(), "try later") || strings.Contains(err.Error(), testKey) {
			t.Errorf("HTTP %d: message %q", tc.status, err)
		}
		if called {
			t.Error("sink called on an error")
		}
	}
}

func TestSpeechBodyCutMidStream(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "48000")
		w.Write(pcmBytes(tone(2400)))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection
	}, nil)
	c := f.client(t, Config{})
	n := 0
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: SpeechRate}, func(pcm []int16) error {
		n += len(pcm)
		return nil
	})
	if !errors.Is(err, pipeline.ErrStreamCut) || !pipeline.ShouldFallback(err) {
		t.Fatalf("err = %v, want a retryable ErrStreamCut", err)
	}
	if n != 2400 {
		t.Errorf("%d samples before the cut, want 2400", n)
	}
}

func TestSpeechSinkErrorAndCancel(t *testing.T) {
	release := make(chan struct{})
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(pcmBytes(tone(2400)))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, nil)
	c := f.client(t, Config{})
	stop := errors.New("barge-in")
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: SpeechRate}, func([]int16) error { return stop })
	if err != stop {
		t.Errorf("sink error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = c.Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: SpeechRate}, func([]int16) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	close(release)
}

func TestSpeechNotPCM(t *testing.T) {
	f := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Write([]byte("ID3...."))
	}, nil)
	c := f.client(t, Config{})
	err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi", SampleRate: 16000}, func([]int16) error {
		t.Error("sink called with MP3 bytes")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "audio/mpeg") || pipeline.ShouldFallback(err) {
		t.Errorf("err = %v, want a non-retryable configuration error", err)
	}
}

func TestSpeechEmptyTextAndBadRate(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "  ", SampleRate: 16000}, nil); err != nil {
		t.Errorf("empty text: %v", err)
	}
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: "x", SampleRate: 0}, nil); !errors.Is(err, pipeline.ErrUnsupportedRate) {
		t.Errorf("rate 0: %v", err)
	}
	if _, err := New(Config{Speed: 9}); err == nil {
		t.Error("Speed 9 accepted")
	}
}
