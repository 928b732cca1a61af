package sphinx

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/espeak"
)

// The phrases an appointment agent listens for, written as an agent author
// would; the recogniser normalises them ("Tuesday at 10" → "tuesday at ten").
var testPhrases = []string{
	"I would like to book an appointment",
	"Tuesday at 10",
	"Yes, please",
	"No thanks",
	"Goodbye",
	"Can you repeat that?",
	"I want to speak to a person",
	"My account number is 1 2 3",
}

func newRealSTT(t testing.TB, cfg Config) *STT {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("PocketSphinx unavailable: %v", err)
	}
	cfg.Logger = quietLogger()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	speechMu    sync.Mutex
	speechCache = map[string][]int16{}
)

// speech returns text spoken by espeak-ng at 16 kHz with 300 ms of silence
// before and after.
func speech(t testing.TB, text string) []int16 {
	t.Helper()
	if err := espeak.Available(); err != nil {
		t.Skipf("espeak-ng unavailable: %v", err)
	}
	speechMu.Lock()
	defer speechMu.Unlock()
	if pcm, ok := speechCache[text]; ok {
		return pcm
	}
	tts, err := espeak.New(espeak.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pad := make([]int16, SampleRate*300/1000)
	pcm := append([]int16(nil), pad...)
	err = tts.Synthesize(context.Background(), pipeline.TTSRequest{Text: text, SampleRate: SampleRate}, func(c []int16) error {
		pcm = append(pcm, c...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pcm = append(pcm, pad...)
	speechCache[text] = pcm
	return pcm
}

// feed writes pcm in 20 ms frames.
func feed(t testing.TB, st pipeline.STTStream, pcm []int16) {
	t.Helper()
	for i := 0; i < len(pcm); i += 320 {
		if err := st.Write(pcm[i:min(i+320, len(pcm))]); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
}

func TestRecognisesSynthesisedPhrases(t *testing.T) {
	s := newRealSTT(t, Config{})
	st, c := openStream(t, s, testPhrases...)
	misses := 0
	for _, phrase := range testPhrases {
		pcm := speech(t, phrase)
		before := len(c.all())
		feed(t, st, pcm)
		if err := st.Finalize(); err != nil {
			t.Fatal(err)
		}
		final := c.waitFinal(t)
		want := NormalizePhrase(phrase)
		if final.Text != want {
			misses++
			t.Errorf("heard %q, want %q", final.Text, want)
		}
		if final.Confidence <= 0 || final.Confidence > 1 {
			t.Errorf("%q: confidence %v outside (0, 1]", want, final.Confidence)
		}
		if got, wantDur := final.AudioDuration, time.Duration(len(pcm))*time.Second/SampleRate; got != wantDur {
			t.Errorf("%q: AudioDuration %v, want %v", want, got, wantDur)
		}
		results := c.all()[before:]
		if len(results) < 2 || results[0].Kind != pipeline.STTPartial {
			t.Errorf("%q: no partial result before the final: %+v", want, results)
		}
		for _, r := range results[:len(results)-1] {
			if r.Kind != pipeline.STTPartial || r.Text == "" {
				t.Errorf("%q: unexpected result before the final: %+v", want, r)
			}
		}
		t.Logf("%-40q confidence %.2f after %d partials", final.Text, final.Confidence, len(results)-1)
	}
	if misses > 0 {
		t.Errorf("%d of %d phrases misrecognised", misses, len(testPhrases))
	}

	// Speech matching no phrase yields an empty final.
	feed(t, st, speech(t, "The weather is nice today."))
	st.Finalize()
	if final := c.waitFinal(t); final.Text != "" {
		t.Errorf("out-of-grammar speech heard as %q", final.Text)
	}
}

func TestRefuses8kHz(t *testing.T) {
	s := newRealSTT(t, Config{})
	_, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 8000, Phrases: testPhrases}, func(pipeline.STTResult) {})
	if !errors.Is(err, pipeline.ErrUnsupportedRate) || !strings.Contains(err.Error(), "needs 16 kHz input") {
		t.Fatalf("err = %v, want ErrUnsupportedRate saying 16 kHz is needed", err)
	}
}

func TestUnknownWordsAreReported(t *testing.T) {
	s := newRealSTT(t, Config{})
	err := s.CheckPhrases([]string{"yes please", "book with Zyxwvut"})
	var uw *UnknownWordsError
	if !errors.As(err, &uw) || len(uw.Words) != 1 || uw.Words[0] != "zyxwvut" {
		t.Fatalf("err = %v, want zyxwvut reported", err)
	}
}

func TestConcurrentStreamsShareTwoDecoders(t *testing.T) {
	s := newRealSTT(t, Config{PoolSize: 2, MaxDecoders: 2})
	const streams = 6
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for i := range streams {
		phrase := testPhrases[i%len(testPhrases)]
		pcm := speech(t, phrase)
		st, c := openStream(t, s, testPhrases...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				for j := 0; j < len(pcm); j += 320 {
					if err := st.Write(pcm[j:min(j+320, len(pcm))]); err != nil {
						errs <- err
						return
					}
				}
				st.Finalize()
				select {
				case r := <-c.finals:
					if want := NormalizePhrase(phrase); r.Text != want {
						errs <- errors.New("heard " + strconv.Quote(r.Text) + ", want " + strconv.Quote(want))
					}
				case <-time.After(20 * time.Second):
					errs <- errors.New("no final")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if total, _ := s.pool.stats(); total > 2 {
		t.Errorf("%d decoders alive, want at most 2", total)
	}
}

func TestCloseMidUtteranceLeavesNoGoroutine(t *testing.T) {
	s := newRealSTT(t, Config{})
	before := goleak.IgnoreCurrent()
	c := newCollector()
	st, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: SampleRate, Phrases: testPhrases}, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, st, speech(t, "yes please")[:8000])
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
	// The decoder went back to the pool clean and serves the next stream.
	st2, c2 := openStream(t, s, testPhrases...)
	feed(t, st2, speech(t, "no thanks"))
	st2.Finalize()
	if r := c2.waitFinal(t); r.Text != "no thanks" {
		t.Errorf("after a stream closed mid-utterance: heard %q", r.Text)
	}
}

func TestNewReportsBadModel(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	if _, err := New(Config{ModelDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "acoustic model") {
		t.Errorf("empty model dir: %v", err)
	}
	// Files present but unusable: the library's own error is surfaced.
	dir := t.TempDir()
	for _, name := range append(modelFiles, "sendump") {
		os.WriteFile(dir+"/"+name, []byte("garbage\n"), 0o600)
	}
	if _, err := New(Config{ModelDir: dir}); err == nil || !strings.Contains(err.Error(), "loading acoustic model") {
		t.Errorf("garbage model: %v", err)
	} else {
		t.Log(err)
	}
}

func BenchmarkDecode3s(b *testing.B) {
	s := newRealSTT(b, Config{})
	pcm := speech(b, "I would like to book an appointment")
	if len(pcm) < 3*SampleRate {
		pcm = append(pcm, make([]int16, 3*SampleRate-len(pcm))...)
	}
	pcm = pcm[:3*SampleRate]
	st, c := openStream(b, s, testPhrases...)
	b.ResetTimer()
	for range b.N {
		feed(b, st, pcm)
		st.Finalize()
		if r := <-c.finals; r.Text != "i would like to book an appointment" {
			b.Fatalf("heard %q", r.Text)
		}
	}
	b.ReportMetric(3*float64(b.N)/b.Elapsed().Seconds(), "x_realtime")
}
