package espeak

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sentence = "Thank you for calling. Your appointment is booked for Tuesday at ten."

func newTTS(t testing.TB, cfg Config) *TTS {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("espeak-ng unavailable: %v", err)
	}
	tts, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tts
}

// synth collects the whole output of one request.
func synth(t testing.TB, tts *TTS, req pipeline.TTSRequest) (pcm []int16, chunks int) {
	t.Helper()
	err := tts.Synthesize(context.Background(), req, func(c []int16) error {
		pcm = append(pcm, c...)
		chunks++
		return nil
	})
	if err != nil {
		t.Fatalf("Synthesize(%+v): %v", req, err)
	}
	return pcm, chunks
}

// similarLength reports lengths within 6 %: the run-to-run variation of the
// library is about 1 %, a little more after a voice or rate change.
func similarLength(a, b []int16) bool {
	return math.Abs(float64(len(a)-len(b))) <= 0.06*float64(len(b))
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(max(len(pcm), 1)))
}

func TestSynthesizeRates(t *testing.T) {
	tts := newTTS(t, Config{})
	for _, rate := range []int{16000, 8000, 22050, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			pcm, chunks := synth(t, tts, pipeline.TTSRequest{Text: sentence, SampleRate: rate})
			dur := time.Duration(len(pcm)) * time.Second / time.Duration(rate)
			// 12 words at 175 wpm is about 4 s, plus the pause between sentences.
			if dur < 2500*time.Millisecond || dur > 7*time.Second {
				t.Errorf("%v of audio for %q", dur, sentence)
			}
			if r := rms(pcm); r < 300 {
				t.Errorf("audio is nearly silent: RMS %.0f", r)
			}
			// Streamed as the library produces it, 100 ms at a time.
			if chunks < 10 {
				t.Errorf("%d chunks, want audio delivered in pieces", chunks)
			}
			t.Logf("%d Hz: %v in %d chunks, RMS %.0f", rate, dur, chunks, rms(pcm))
		})
	}
}

func TestSpeakingRateAndVoice(t *testing.T) {
	tts := newTTS(t, Config{})
	normal, _ := synth(t, tts, pipeline.TTSRequest{Text: sentence, SampleRate: 16000})
	fast, _ := synth(t, tts, pipeline.TTSRequest{Text: sentence, SampleRate: 16000, Rate: 350})
	if float64(len(fast)) > 0.7*float64(len(normal)) {
		t.Errorf("350 wpm gave %d samples, 175 wpm %d: want clearly shorter", len(fast), len(normal))
	}
	british, _ := synth(t, tts, pipeline.TTSRequest{Text: sentence, SampleRate: 16000, Voice: "en-gb-x-rp"})
	if slices.Equal(british, normal) {
		t.Error("voice override had no effect")
	}
	byLang, _ := synth(t, tts, pipeline.TTSRequest{Text: sentence, SampleRate: 16000, Language: "en-AU"})
	if len(byLang) == 0 {
		t.Error("no audio for language en-AU (should fall back to en)")
	}
	// An agent config picks the voice "de-de" for language de-DE; espeak-ng
	// has only "de".
	german, _ := synth(t, tts, pipeline.TTSRequest{Text: sentence, SampleRate: 16000, Voice: "de-de"})
	if len(german) == 0 || slices.Equal(german, normal) {
		t.Error("voice de-de did not fall back to the German voice")
	}
	// Back to the configured voice. The library carries some state from one
	// synthesis to the next (pitch flutter and the like), so the same request
	// gives nearly, not exactly, the same audio.
	again, _ := synth(t, tts, pipeline.TTSRequest{Text: sentence, SampleRate: 16000})
	if !similarLength(again, normal) {
		t.Errorf("same request gave %d samples after other voices were used, %d before", len(again), len(normal))
	}
}

func TestZeroTTSUsesDefaults(t *testing.T) {
	newTTS(t, Config{})
	pcm, _ := synth(t, &TTS{}, pipeline.TTSRequest{Text: "a < b & c", SampleRate: 16000})
	if len(pcm) < 8000 {
		t.Errorf("%d samples", len(pcm))
	}
}

func TestSynthesizeErrors(t *testing.T) {
	tts := newTTS(t, Config{})
	sink := func([]int16) error { t.Error("sink called"); return nil }
	ctx := context.Background()
	if err := tts.Synthesize(ctx, pipeline.TTSRequest{Text: "  \n", SampleRate: 16000}, sink); err != nil {
		t.Errorf("empty text: %v", err)
	}
	if err := tts.Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: 0}, sink); !errors.Is(err, pipeline.ErrUnsupportedRate) {
		t.Errorf("rate 0: %v", err)
	}
	err := tts.Synthesize(ctx, pipeline.TTSRequest{Text: "hi", SampleRate: 16000, Voice: "no-such-voice"}, sink)
	if err == nil || !strings.Contains(err.Error(), `voice "no-such-voice"`) {
		t.Errorf("unknown voice: %v", err)
	}
	if _, err := New(Config{Voice: "no-such-voice"}); err == nil {
		t.Error("New accepted an unknown voice")
	}
	if _, err := New(Config{DataPath: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "cannot switch") {
		t.Errorf("New with another data path: %v", err)
	}
	boom := errors.New("boom")
	calls := 0
	err = tts.Synthesize(ctx, pipeline.TTSRequest{Text: sentence, SampleRate: 16000}, func([]int16) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("sink error: err %v after %d calls, want boom after 1", err, calls)
	}
}

func TestCancellationStopsSynthesis(t *testing.T) {
	tts := newTTS(t, Config{})
	long := strings.Repeat(sentence+" ", 40) // about 3 minutes of speech
	full := 40 * 4 * 16000
	ctx, cancel := context.WithCancel(context.Background())
	got, chunksAfter := 0, 0
	start := time.Now()
	err := tts.Synthesize(ctx, pipeline.TTSRequest{Text: long, SampleRate: 16000}, func(c []int16) error {
		if ctx.Err() != nil {
			chunksAfter++
		}
		got += len(c)
		if got > 16000 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if chunksAfter > 0 || got > full/10 {
		t.Errorf("%d samples (%d chunks after cancel) delivered, want synthesis stopped", got, chunksAfter)
	}
	t.Logf("stopped after %d samples in %v", got, time.Since(start))
	// The library is usable afterwards.
	pcm, _ := synth(t, tts, pipeline.TTSRequest{Text: "still working", SampleRate: 16000})
	if len(pcm) < 8000 {
		t.Errorf("after a cancel: %d samples", len(pcm))
	}
	// Already cancelled: nothing happens.
	if err := tts.Synthesize(ctx, pipeline.TTSRequest{Text: "x", SampleRate: 16000}, func([]int16) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
}

func TestConcurrentSynthesize(t *testing.T) {
	tts := newTTS(t, Config{})
	reqs := []pipeline.TTSRequest{
		{Text: sentence, SampleRate: 16000},
		{Text: "Yes please.", SampleRate: 8000},
		{Text: "Goodbye and have a nice day.", SampleRate: 16000, Rate: 220},
		{Text: "Can you repeat that?", SampleRate: 24000, Voice: "en-gb-x-rp"},
	}
	want := make([][]int16, len(reqs))
	for i, r := range reqs {
		want[i], _ = synth(t, tts, r)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 5 {
				i := (g + k) % len(reqs)
				var got []int16
				err := tts.Synthesize(context.Background(), reqs[i], func(c []int16) error {
					got = append(got, c...)
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				// Mixed-up syntheses would change the length by far more.
				if !similarLength(got, want[i]) || rms(got) < 300 {
					t.Errorf("request %d: concurrent output has %d samples (RMS %.0f), sequential %d", i, len(got), rms(got), len(want[i]))
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkSynthesizeSentence(b *testing.B) {
	tts := newTTS(b, Config{})
	req := pipeline.TTSRequest{Text: sentence, SampleRate: 16000}
	var samples int
	var firstAudio time.Duration
	b.ResetTimer()
	for range b.N {
		samples = 0
		start := time.Now()
		err := tts.Synthesize(context.Background(), req, func(c []int16) error {
			if samples == 0 {
				firstAudio += time.Since(start)
			}
			samples += len(c)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	audio := float64(samples) / 16000
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(audio, "audio_s/op")
	b.ReportMetric(audio/perOp, "x_realtime")
	b.ReportMetric(float64(firstAudio.Microseconds())/float64(b.N), "µs_to_first_audio")
}
