package providertest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/media/codec"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/deepgram"
	"github.com/parley-voice/parley/pipeline/providertest"
)

const dgKey = "dg-test-key"

func newDeepgram(t *testing.T, lines ...string) *providertest.Deepgram {
	t.Helper()
	f, err := providertest.NewDeepgram(providertest.DeepgramConfig{APIKey: dgKey, Transcripts: lines})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// speak writes d of tone then silence of the given length in 20 ms frames.
func speak(t *testing.T, st pipeline.STTStream, rate int, d, silence time.Duration) {
	t.Helper()
	pcm := append(providertest.Tone(rate, d), make([]int16, int(int64(silence)*int64(rate)/int64(time.Second)))...)
	frame := rate / 50
	for off := 0; off < len(pcm); off += frame {
		if err := st.Write(pcm[off:min(off+frame, len(pcm))]); err != nil {
			t.Fatal(err)
		}
	}
}

func nextResult(t *testing.T, c chan pipeline.STTResult, kind pipeline.STTResultKind) pipeline.STTResult {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case r := <-c:
			if r.Kind == kind {
				return r
			}
			if r.Kind == pipeline.STTError {
				t.Fatalf("error result: %v", r.Err)
			}
		case <-deadline:
			t.Fatalf("no result of kind %v", kind)
		}
	}
}

// The real Deepgram client against the fake: scripted lines come back one per
// utterance, detected by energy, and the fake records the audio format.
func TestDeepgramWithClient(t *testing.T) {
	f := newDeepgram(t, "hello there", "second line")
	stt, err := deepgram.New(deepgram.Config{APIKey: dgKey, BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	res := make(chan pipeline.STTResult, 64)
	st, err := stt.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000}, func(r pipeline.STTResult) { res <- r })
	if err != nil {
		t.Fatal(err)
	}
	speak(t, st, 16000, 600*time.Millisecond, 400*time.Millisecond)
	if r := nextResult(t, res, pipeline.STTFinal); r.Text != "hello there" || r.AudioDuration < 500*time.Millisecond {
		t.Fatalf("first final %q over %v", r.Text, r.AudioDuration)
	}
	// A Finalize in the middle of the next utterance answers it at once.
	speak(t, st, 16000, 400*time.Millisecond, 0)
	if err := st.Finalize(); err != nil {
		t.Fatal(err)
	}
	if r := nextResult(t, res, pipeline.STTFinal); r.Text != "second line" {
		t.Fatalf("second final %q", r.Text)
	}
	// With nothing pending, Finalize is answered by an empty final.
	if err := st.Finalize(); err != nil {
		t.Fatal(err)
	}
	if r := nextResult(t, res, pipeline.STTFinal); r.Text != "" {
		t.Fatalf("final of nothing %q", r.Text)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	sess := f.Sessions()
	if len(sess) != 1 {
		t.Fatalf("%d sessions", len(sess))
	}
	s := sess[0]
	wantBytes := 2 * 16000 * 1400 / 1000
	if s.Encoding != "linear16" || s.SampleRate != 16000 || s.Channels != 1 || s.AudioBytes != wantBytes {
		t.Errorf("session %s %d Hz %d ch %d bytes, want linear16 16000 Hz 1 ch %d bytes", s.Encoding, s.SampleRate, s.Channels, s.AudioBytes, wantBytes)
	}
	if len(s.Utterances) != 2 || s.Utterances[0].FromFinalize || !s.Utterances[1].FromFinalize || s.Finalizes != 2 || !s.CloseStream {
		t.Errorf("session %+v", s)
	}
	if u := s.Utterances[0]; u.Start > 40*time.Millisecond || u.End < 560*time.Millisecond || u.End > 640*time.Millisecond {
		t.Errorf("first utterance %v–%v, want about 0–600ms", u.Start, u.End)
	}
}

// Handshakes the real API refuses are refused: wrong key, wrong path, raw
// audio without a sample rate, utterance_end_ms without interim results.
func TestDeepgramRejects(t *testing.T) {
	f := newDeepgram(t)
	good := "?encoding=linear16&sample_rate=16000&channels=1&interim_results=true"
	cases := []struct {
		name, url, auth string
		status          int
	}{
		{"no key", f.URL() + good, "", http.StatusUnauthorized},
		{"wrong key", f.URL() + good, "Token nope", http.StatusUnauthorized},
		{"bearer scheme", f.URL() + good, "Bearer " + dgKey, http.StatusUnauthorized},
		{"wrong path", strings.TrimSuffix(f.URL(), "/listen") + "/speak" + good, "Token " + dgKey, http.StatusNotFound},
		{"no sample rate", f.URL() + "?encoding=linear16", "Token " + dgKey, http.StatusBadRequest},
		{"unknown encoding", f.URL() + "?encoding=pcm16&sample_rate=16000", "Token " + dgKey, http.StatusBadRequest},
		{"utterance end without interim", f.URL() + "?encoding=mulaw&sample_rate=8000&utterance_end_ms=1000", "Token " + dgKey, http.StatusBadRequest},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.auth != "" {
			h.Set("Authorization", c.auth)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(c.url, h)
		if err == nil {
			ws.Close()
			t.Errorf("%s: connected", c.name)
			continue
		}
		if resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s: %v, want HTTP %d", c.name, err, c.status)
		}
	}
	// The real client reports a refused key as a handshake error.
	stt, _ := deepgram.New(deepgram.Config{APIKey: "wrong", BaseURL: f.URL()})
	_, err := stt.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 8000}, func(pipeline.STTResult) {})
	var he *deepgram.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
		t.Fatalf("NewStream with a wrong key: %v", err)
	}
	if n := len(f.Rejections()); n != len(cases)+1 {
		t.Errorf("%d rejections recorded, want %d", n, len(cases)+1)
	}
}

// μ-law at 8 kHz is decoded too, UtteranceEnd follows the gap the client
// asked for, and an idle socket is closed with NET-0001.
func TestDeepgramMulawUtteranceEndAndIdle(t *testing.T) {
	f, err := providertest.NewDeepgram(providertest.DeepgramConfig{APIKey: dgKey, Transcripts: []string{"yes"}, IdleTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := http.Header{"Authorization": {"Token " + dgKey}}
	ws, _, err := websocket.DefaultDialer.Dial(f.URL()+"?encoding=mulaw&sample_rate=8000&interim_results=true&utterance_end_ms=1000&vad_events=true", h)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	tone := providertest.Tone(8000, 500*time.Millisecond)
	audio := make([]byte, 0, len(tone)+8000*2)
	for _, s := range tone {
		audio = append(audio, codec.PCMToMulaw(s))
	}
	for range 8000 * 1200 / 1000 {
		audio = append(audio, 0xFF) // μ-law silence
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, audio); err != nil {
		t.Fatal(err)
	}
	var types []string
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			ce := &websocket.CloseError{}
			if !errors.As(err, &ce) || ce.Code != websocket.CloseInternalServerErr || !strings.HasPrefix(ce.Text, "NET-0001") {
				t.Fatalf("socket ended with %v, want close 1011 NET-0001", err)
			}
			break
		}
		typ := m["type"].(string)
		if typ == "Results" {
			if m["is_final"] == true {
				typ += ":final:" + m["channel"].(map[string]any)["alternatives"].([]any)[0].(map[string]any)["transcript"].(string)
			} else {
				typ += ":interim"
			}
		}
		types = append(types, typ)
	}
	if got := strings.Join(types, " "); got != "SpeechStarted Results:interim Results:final:yes UtteranceEnd" {
		t.Errorf("messages %q", got)
	}
}
