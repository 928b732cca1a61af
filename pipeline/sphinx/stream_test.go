package sphinx

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newFakeSTT(t *testing.T, cfg Config) (*STT, *fakeEngines) {
	t.Helper()
	f := &fakeEngines{}
	if cfg.Dict == "" {
		cfg.Dict = writeDict(t)
	}
	cfg.Logger = quietLogger()
	s, err := newSTT(cfg, f.new)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, f
}

// waitBorrowed waits until n decoders are in use.
func waitBorrowed(t *testing.T, s *STT, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		total, idle := s.pool.stats()
		if total-idle == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d decoders in use, want %d", total-idle, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func openStream(t testing.TB, s *STT, phrases ...string) (pipeline.STTStream, *collector) {
	t.Helper()
	c := newCollector()
	st, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Phrases: phrases}, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, c
}

func TestStreamPartialsThenFinal(t *testing.T) {
	s, f := newFakeSTT(t, Config{})
	st, c := openStream(t, s, "Yes, please")
	writeFrames(t, st, 50) // 1 s
	if err := st.Finalize(); err != nil {
		t.Fatal(err)
	}
	final := c.waitFinal(t)
	if final.Text != "yes please 16000" || final.AudioDuration != time.Second || final.Confidence != 0.5 {
		t.Errorf("final = %+v", final)
	}
	res := c.all()
	partials := 0
	for _, r := range res[:len(res)-1] {
		if r.Kind != pipeline.STTPartial {
			t.Errorf("unexpected %v before the final", r.Kind)
		}
		partials++
	}
	// One look every 160 ms of audio, and the fake's hypothesis changes every 100 ms.
	if partials != 6 {
		t.Errorf("%d partials for 1 s of audio, want 6", partials)
	}
	// The decoder is back in the pool and reused for the next utterance.
	writeFrames(t, st, 10)
	st.Finalize()
	if r := c.waitFinal(t); r.Text != "yes please 3200" {
		t.Errorf("second final = %+v", r)
	}
	if created, _ := f.counts(); created != 1 {
		t.Errorf("%d decoders created, want 1", created)
	}
}

func TestFinalizeWithoutAudio(t *testing.T) {
	s, f := newFakeSTT(t, Config{})
	st, c := openStream(t, s, "yes")
	st.Finalize()
	if r := c.waitFinal(t); r.Text != "" || r.AudioDuration != 0 {
		t.Errorf("final = %+v, want empty", r)
	}
	if created, _ := f.counts(); created != 0 {
		t.Errorf("a decoder was created for an empty utterance")
	}
}

func TestNewStreamErrors(t *testing.T) {
	s, _ := newFakeSTT(t, Config{})
	sink := func(pipeline.STTResult) {}
	_, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 8000, Phrases: []string{"yes"}}, sink)
	if !errors.Is(err, pipeline.ErrUnsupportedRate) || !strings.Contains(err.Error(), "needs 16 kHz input") {
		t.Errorf("8 kHz: err = %v", err)
	}
	if _, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Phrases: []string{"...", ""}}, sink); !errors.Is(err, ErrNoPhrases) {
		t.Errorf("no phrases: err = %v", err)
	}
	if _, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Language: "fr-FR", Phrases: []string{"yes"}}, sink); !errors.Is(err, ErrLanguage) {
		t.Errorf("French: err = %v", err)
	}
	for _, lang := range []string{"", "en", "en-GB", "EN-us"} {
		st, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Language: lang, Phrases: []string{"yes"}}, sink)
		if err != nil {
			t.Errorf("language %q: %v", lang, err)
			continue
		}
		st.Close()
	}
	var uw *UnknownWordsError
	if _, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Phrases: []string{"yes zorb"}}, sink); !errors.As(err, &uw) {
		t.Errorf("unknown word: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.NewStream(ctx, pipeline.STTConfig{SampleRate: 16000, Phrases: []string{"yes"}}, sink); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v", err)
	}
	if err := s.CheckPhrases([]string{"Yes please", "I'd"}); err != nil {
		t.Errorf("CheckPhrases: %v", err)
	}
}

func TestPoolBoundsUtterancesNotStreams(t *testing.T) {
	s, f := newFakeSTT(t, Config{PoolSize: 1, MaxDecoders: 1})
	a, ca := openStream(t, s, "yes")
	b, cb := openStream(t, s, "yes")
	writeFrames(t, a, 10)
	waitBorrowed(t, s, 1)
	writeFrames(t, b, 20) // b buffers: no decoder is free
	b.Finalize()
	cb.noFinal(t, 100*time.Millisecond)
	a.Finalize()
	if r := ca.waitFinal(t); r.Text != "yes 3200" {
		t.Errorf("a final = %+v", r)
	}
	if r := cb.waitFinal(t); r.Text != "yes 6400" {
		t.Errorf("b final = %+v (buffered audio must be decoded once a decoder frees)", r)
	}
	if created, _ := f.counts(); created != 1 {
		t.Errorf("%d decoders created, want 1", created)
	}
}

func TestBackpressureWhileWaiting(t *testing.T) {
	s, _ := newFakeSTT(t, Config{PoolSize: 1, MaxDecoders: 1, MaxBuffered: 100 * time.Millisecond})
	a, _ := openStream(t, s, "yes")
	b, _ := openStream(t, s, "yes")
	writeFrames(t, a, 1)
	waitBorrowed(t, s, 1)
	writeFrames(t, b, 5) // 100 ms fits
	if err := b.Write(frame); !errors.Is(err, pipeline.ErrBackpressure) {
		t.Fatalf("Write beyond MaxBuffered: err = %v, want ErrBackpressure", err)
	}
}

func TestEvictsIdleDecoderOfOtherGrammar(t *testing.T) {
	s, f := newFakeSTT(t, Config{PoolSize: 1, MaxDecoders: 1})
	a, ca := openStream(t, s, "yes")
	writeFrames(t, a, 5)
	a.Finalize()
	ca.waitFinal(t)
	b, cb := openStream(t, s, "please")
	writeFrames(t, b, 5)
	b.Finalize()
	if r := cb.waitFinal(t); r.Text != "please 1600" {
		t.Errorf("b final = %+v", r)
	}
	if created, freed := f.counts(); created != 2 || freed != 1 {
		t.Errorf("created %d freed %d, want 2 and 1", created, freed)
	}
	if total, idle := s.pool.stats(); total != 1 || idle != 1 {
		t.Errorf("pool total %d idle %d, want 1 and 1", total, idle)
	}
}

func TestDecoderCreationFailure(t *testing.T) {
	s, f := newFakeSTT(t, Config{})
	f.failNew = errors.New("out of memory")
	st, c := openStream(t, s, "yes")
	writeFrames(t, st, 5)
	st.Finalize()
	if r := c.waitFinal(t); r.Text != "" || r.AudioDuration != 100*time.Millisecond {
		t.Errorf("final = %+v", r)
	}
	res := c.all()
	if len(res) != 2 || res[0].Kind != pipeline.STTError || !strings.Contains(res[0].Err.Error(), "out of memory") {
		t.Errorf("results = %+v, want one error then the final", res)
	}
}

func TestCloseReleasesAndIsIdempotent(t *testing.T) {
	s, f := newFakeSTT(t, Config{PoolSize: 1, MaxDecoders: 1})
	a, _ := openStream(t, s, "yes")
	b, _ := openStream(t, s, "yes")
	writeFrames(t, a, 5) // a holds the decoder mid-utterance
	waitBorrowed(t, s, 1)
	writeFrames(t, b, 5) // b waits for it
	done := make(chan struct{})
	go func() { b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close of a stream waiting for a decoder hung")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(frame); !errors.Is(err, pipeline.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := a.Finalize(); !errors.Is(err, pipeline.ErrClosed) {
		t.Errorf("Finalize after Close: %v", err)
	}
	if total, idle := s.pool.stats(); total != 1 || idle != 1 {
		t.Errorf("pool total %d idle %d after Close, want the decoder back idle", total, idle)
	}
	s.Close()
	if created, freed := f.counts(); created != freed {
		t.Errorf("created %d freed %d after STT.Close", created, freed)
	}
	if _, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: 16000, Phrases: []string{"yes"}}, func(pipeline.STTResult) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewStream after Close: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{{PoolSize: -1}, {MaxDecoders: 2, PoolSize: 3}, {MaxBuffered: -time.Second}} {
		if _, err := newSTT(cfg, (&fakeEngines{}).new); err == nil {
			t.Errorf("newSTT(%+v) accepted", cfg)
		}
	}
}

func TestWaiterOfOtherGrammarEvictsReleasedDecoder(t *testing.T) {
	s, f := newFakeSTT(t, Config{PoolSize: 1, MaxDecoders: 1})
	a, ca := openStream(t, s, "yes")
	b, cb := openStream(t, s, "please")
	writeFrames(t, a, 5)
	waitBorrowed(t, s, 1)
	writeFrames(t, b, 5) // waits: the only decoder is busy with another grammar
	b.Finalize()
	cb.noFinal(t, 50*time.Millisecond)
	a.Finalize()
	ca.waitFinal(t)
	if r := cb.waitFinal(t); r.Text != "please 1600" {
		t.Errorf("b final = %+v", r)
	}
	if created, freed := f.counts(); created != 2 || freed != 1 {
		t.Errorf("created %d freed %d, want 2 and 1", created, freed)
	}
}
