package openaiaudio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/media/wav"
	"github.com/parley-voice/parley/pipeline"
)

// upload is what the fake transcription endpoint received.
type upload struct {
	filename, model, language, prompt, format string
	pcm                                       []int16
	rate                                      int
}

func transcriber(t *testing.T, got chan<- upload, text string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			http.Error(w, "want multipart", 400)
			return
		}
		file, hdr, err := r.FormFile("file")
		if err != nil {
			openAIError(w, 400, "invalid_request", "no file")
			return
		}
		data, _ := io.ReadAll(file)
		pcm, rate, err := wav.Decode(strings.NewReader(string(data)))
		if err != nil {
			openAIError(w, 400, "invalid_request", "not a WAV file")
			return
		}
		got <- upload{hdr.Filename, r.FormValue("model"), r.FormValue("language"), r.FormValue("prompt"),
			r.FormValue("response_format"), pcm, rate}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"text":"` + text + `"}`))
	}
}

func TestTranscriptionUploadsWAV(t *testing.T) {
	got := make(chan upload, 4)
	f := newFakeServer(t, nil, transcriber(t, got, " I want to check my order. "))
	c := f.client(t, Config{Prompt: "Parley shop."})
	res := newCollector()
	st, err := c.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Language: "en-US", Phrases: []string{"order", "refund"}}, res.sink)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	audio := tone(16000)
	for off := 0; off < len(audio); off += 320 {
		if err := st.Write(audio[off : off+320]); err != nil {
			t.Fatal(err)
		}
	}
	res.none(t, 50*time.Millisecond) // no partials
	st.Finalize()
	r := res.next(t)
	if r.Kind != pipeline.STTFinal || r.Text != "I want to check my order." || r.AudioDuration != time.Second {
		t.Fatalf("got %v %q %v", r.Kind, r.Text, r.AudioDuration)
	}
	u := <-got
	if u.filename != "utterance.wav" || u.model != "whisper-1" || u.language != "en" || u.format != "json" ||
		u.prompt != "Parley shop. order, refund" {
		t.Errorf("upload = %+v", u)
	}
	if u.rate != 16000 || len(u.pcm) != len(audio) || u.pcm[1234] != audio[1234] {
		t.Errorf("uploaded %d samples at %d Hz", len(u.pcm), u.rate)
	}
	// The buffer starts over for the next utterance.
	st.Write(audio[:3200])
	st.Finalize()
	res.next(t)
	if u := <-got; len(u.pcm) != 3200 {
		t.Errorf("second utterance uploaded %d samples, want 3200", len(u.pcm))
	}
}

func TestTranscriptionNarrowband(t *testing.T) {
	got := make(chan upload, 1)
	f := newFakeServer(t, nil, transcriber(t, got, "yes"))
	c := f.client(t, Config{TranscriptionModel: "Systran/faster-whisper-small"})
	res := newCollector()
	st, _ := c.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Bandwidth: 4000}, res.sink)
	defer st.Close()
	st.Write(tone(8000))
	st.Finalize()
	if r := res.next(t); r.Text != "yes" {
		t.Fatalf("got %q", r.Text)
	}
	if u := <-got; u.rate != 8000 || len(u.pcm) != 4000 || u.model != "Systran/faster-whisper-small" {
		t.Errorf("uploaded %d samples at %d Hz, model %s", len(u.pcm), u.rate, u.model)
	}
}

func TestTranscriptionError(t *testing.T) {
	f := newFakeServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		openAIError(w, 500, "server_error", "overloaded")
	})
	c := f.client(t, Config{})
	res := newCollector()
	st, _ := c.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 8000}, res.sink)
	defer st.Close()
	st.Write(tone(4000))
	st.Finalize()
	r := res.next(t)
	var pe *pipeline.ProviderError
	if r.Kind != pipeline.STTError || !errors.As(r.Err, &pe) || pe.Status != 500 || pe.Stage != "stt" ||
		!pipeline.ShouldFallback(r.Err) || strings.Contains(r.Err.Error(), testKey) {
		t.Fatalf("got %v %v", r.Kind, r.Err)
	}
	if r := res.next(t); r.Kind != pipeline.STTFinal || r.Text != "" {
		t.Fatalf("after the error: %v %q, want an empty final", r.Kind, r.Text)
	}
}

func TestTranscriptionShortUtteranceSkipsServer(t *testing.T) {
	var calls atomic.Int32
	f := newFakeServer(t, nil, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	c := f.client(t, Config{})
	res := newCollector()
	st, _ := c.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000}, res.sink)
	defer st.Close()
	st.Finalize()
	st.Write(tone(800)) // 50 ms
	st.Finalize()
	for range 2 {
		if r := res.next(t); r.Kind != pipeline.STTFinal || r.Text != "" {
			t.Fatalf("got %v %q", r.Kind, r.Text)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests for no speech", calls.Load())
	}
}

func TestTranscriptionBackpressureAndClose(t *testing.T) {
	entered := make(chan struct{})
	f := newFakeServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		close(entered)
		<-r.Context().Done() // never answers
	})
	c := f.client(t, Config{MaxUtterance: 200 * time.Millisecond})
	res := newCollector()
	st, _ := c.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000}, res.sink)
	if err := st.Write(tone(3200)); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(tone(1)); !errors.Is(err, pipeline.ErrBackpressure) {
		t.Fatalf("Write beyond MaxUtterance = %v", err)
	}
	st.Finalize()
	<-entered
	start := time.Now()
	st.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close with an upload in flight took %v", d)
	}
	res.none(t, 50*time.Millisecond)
	if err := st.Write(tone(10)); !errors.Is(err, pipeline.ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
}

// Whisper takes ISO-639-1 codes: the agent's BCP 47 tag is cut to its language.
func TestISOLanguage(t *testing.T) {
	for tag, want := range map[string]string{"en-US": "en", "pt-BR": "pt", "DE": "de", "es-419": "es", "": ""} {
		if got := isoLanguage(tag); got != want {
			t.Errorf("isoLanguage(%q) = %q, want %q", tag, got, want)
		}
	}
}
