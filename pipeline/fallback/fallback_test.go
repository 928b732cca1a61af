package fallback

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

type scriptedLLM struct {
	chunks []string
	err    error
	calls  int
}

func (s *scriptedLLM) Generate(ctx context.Context, _ *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	s.calls++
	for _, c := range s.chunks {
		sink(pipeline.LLMChunk{Text: c})
	}
	return s.err
}

func retryable(status int) error {
	return &pipeline.ProviderError{Provider: "x", Stage: "llm", Status: status, Retryable: true, Err: errors.New("busy")}
}

func TestLLMFallsBackBeforeAnythingWasSaid(t *testing.T) {
	first := &scriptedLLM{err: retryable(429)}
	second := &scriptedLLM{err: pipeline.ErrFirstByteTimeout}
	third := &scriptedLLM{chunks: []string{"Hello ", "there."}}
	var switches []Switch
	l := &LLM{Providers: []Named[pipeline.LLM]{{"openai", first}, {"groq", second}, {"ollama", third}},
		OnSwitch: func(s Switch) { switches = append(switches, s) }}
	var got strings.Builder
	if err := l.Generate(context.Background(), &pipeline.LLMRequest{}, func(c pipeline.LLMChunk) { got.WriteString(c.Text) }); err != nil {
		t.Fatal(err)
	}
	if got.String() != "Hello there." || len(switches) != 2 || switches[0].From != "openai" || switches[1].To != "ollama" {
		t.Fatalf("text %q, switches %+v", got.String(), switches)
	}
}

func TestLLMDoesNotFallBackAfterSpeakingOrOnPermanentErrors(t *testing.T) {
	cut := &scriptedLLM{chunks: []string{"Hel"}, err: pipeline.ErrStreamCut}
	spare := &scriptedLLM{chunks: []string{"never"}}
	l := &LLM{Providers: []Named[pipeline.LLM]{{"a", cut}, {"b", spare}}}
	err := l.Generate(context.Background(), &pipeline.LLMRequest{}, func(pipeline.LLMChunk) {})
	if !errors.Is(err, pipeline.ErrStreamCut) || spare.calls != 0 {
		t.Fatalf("mid-reply cut: %v, spare called %d times", err, spare.calls)
	}
	auth := &scriptedLLM{err: &pipeline.ProviderError{Provider: "a", Status: 401, Err: errors.New("bad key")}}
	l = &LLM{Providers: []Named[pipeline.LLM]{{"a", auth}, {"b", spare}}}
	if err := l.Generate(context.Background(), &pipeline.LLMRequest{}, func(pipeline.LLMChunk) {}); err == nil || spare.calls != 0 {
		t.Fatalf("401: %v, spare called %d times", err, spare.calls)
	}
	all := &LLM{Providers: []Named[pipeline.LLM]{{"a", &scriptedLLM{err: retryable(500)}}, {"b", &scriptedLLM{err: retryable(503)}}}}
	err = all.Generate(context.Background(), &pipeline.LLMRequest{}, func(pipeline.LLMChunk) {})
	if err == nil || !strings.Contains(err.Error(), "a:") || !strings.Contains(err.Error(), "b:") {
		t.Fatalf("all failing: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l = &LLM{Providers: []Named[pipeline.LLM]{{"a", &scriptedLLM{err: context.Canceled}}, {"b", spare}}}
	if err := l.Generate(ctx, &pipeline.LLMRequest{}, func(pipeline.LLMChunk) {}); !errors.Is(err, context.Canceled) || spare.calls != 0 {
		t.Fatalf("cancelled: %v", err)
	}
}

type scriptedTTS struct {
	samples int
	err     error
	calls   int
}

func (s *scriptedTTS) Synthesize(ctx context.Context, _ pipeline.TTSRequest, sink func([]int16) error) error {
	s.calls++
	if s.samples > 0 {
		if err := sink(make([]int16, s.samples)); err != nil {
			return err
		}
	}
	return s.err
}

func TestTTSFallsBackBeforeAudio(t *testing.T) {
	down := &scriptedTTS{err: retryable(502)}
	up := &scriptedTTS{samples: 320}
	var sw []Switch
	tts := &TTS{Providers: []Named[pipeline.TTS]{{"elevenlabs", down}, {"openai", up}}, OnSwitch: func(s Switch) { sw = append(sw, s) }}
	n := 0
	if err := tts.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi"}, func(p []int16) error { n += len(p); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 320 || len(sw) != 1 || sw[0].Stage != "tts" {
		t.Fatalf("samples %d, switches %+v", n, sw)
	}
	partial := &scriptedTTS{samples: 160, err: pipeline.ErrStreamCut}
	spare := &scriptedTTS{samples: 320}
	tts = &TTS{Providers: []Named[pipeline.TTS]{{"a", partial}, {"b", spare}}}
	if err := tts.Synthesize(context.Background(), pipeline.TTSRequest{Text: "hi"}, func([]int16) error { return nil }); !errors.Is(err, pipeline.ErrStreamCut) || spare.calls != 0 {
		t.Fatalf("cut after audio: %v, spare %d", err, spare.calls)
	}
}

// hangingLLM sends nothing until its context ends; then, when lateText is
// set, it sends it anyway and returns nil (a provider that ignores
// cancellation), else it returns the context's error.
type hangingLLM struct {
	lateText    string
	sawDeadline bool
}

func (h *hangingLLM) Generate(ctx context.Context, _ *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	_, h.sawDeadline = pipeline.FirstTokenDeadline(ctx)
	<-ctx.Done()
	if h.lateText != "" {
		sink(pipeline.LLMChunk{Text: h.lateText})
		return nil
	}
	return ctx.Err()
}

// slowLLM answers after delay, recording whether it was given a deadline.
type slowLLM struct {
	delay       time.Duration
	sawDeadline bool
}

func (s *slowLLM) Generate(ctx context.Context, _ *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	_, s.sawDeadline = pipeline.FirstTokenDeadline(ctx)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	sink(pipeline.LLMChunk{Text: "slow but sure"})
	return nil
}

func TestLLMFallsBackWhenTheFirstTokenIsLate(t *testing.T) {
	const after = 30 * time.Millisecond
	hang := &hangingLLM{}
	late := &hangingLLM{lateText: "too late"}
	last := &slowLLM{delay: 3 * after} // the last provider has no deadline
	var own, viaCtx []Switch
	var mu sync.Mutex
	l := &LLM{Providers: []Named[pipeline.LLM]{{"openai:gpt-4o", hang}, {"groq:llama", late}, {"ollama", last}},
		FallbackAfter: after, OnSwitch: func(s Switch) { own = append(own, s) }}
	ctx := WithReporter(context.Background(), func(s Switch) { mu.Lock(); viaCtx = append(viaCtx, s); mu.Unlock() })
	var got strings.Builder
	start := time.Now()
	if err := l.Generate(ctx, &pipeline.LLMRequest{}, func(c pipeline.LLMChunk) { got.WriteString(c.Text) }); err != nil {
		t.Fatal(err)
	}
	if got.String() != "slow but sure" {
		t.Fatalf("text %q: a chunk sent after the deadline was passed on, or the last provider was cut short", got.String())
	}
	if el := time.Since(start); el < 2*after+3*after {
		t.Errorf("took %v: the deadlines did not apply as configured", el)
	}
	if !hang.sawDeadline || !late.sawDeadline || last.sawDeadline {
		t.Errorf("first-token deadline seen: %v %v %v, want it on all but the last", hang.sawDeadline, late.sawDeadline, last.sawDeadline)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(own) != 2 || len(viaCtx) != 2 || viaCtx[0].From != "openai:gpt-4o" || viaCtx[1].To != "ollama" {
		t.Fatalf("switches: own %+v, context %+v", own, viaCtx)
	}
	for _, s := range viaCtx {
		if !errors.Is(s.Err, pipeline.ErrFirstByteTimeout) || !pipeline.ShouldFallback(s.Err) || errors.Is(s.Err, context.Canceled) {
			t.Errorf("switch error %v: want a missed first byte, not a cancellation", s.Err)
		}
	}
}

func TestNoDeadlineWithoutFallbackAfter(t *testing.T) {
	first := &slowLLM{delay: 10 * time.Millisecond}
	l := &LLM{Providers: []Named[pipeline.LLM]{{"a", first}, {"b", &scriptedLLM{}}}}
	if err := l.Generate(context.Background(), &pipeline.LLMRequest{}, func(pipeline.LLMChunk) {}); err != nil || first.sawDeadline {
		t.Fatalf("err %v, deadline %v", err, first.sawDeadline)
	}
}

// hangingTTS sends no audio until its context ends; then, when late is set,
// it tries to send some anyway.
type hangingTTS struct{ late bool }

func (h *hangingTTS) Synthesize(ctx context.Context, _ pipeline.TTSRequest, sink func([]int16) error) error {
	<-ctx.Done()
	if h.late {
		return sink(make([]int16, 160))
	}
	return ctx.Err()
}

func TestTTSFallsBackWhenTheFirstAudioIsLate(t *testing.T) {
	up := &scriptedTTS{samples: 320}
	var sw []Switch
	tts := &TTS{Providers: []Named[pipeline.TTS]{{"elevenlabs", &hangingTTS{}}, {"cartesia", &hangingTTS{late: true}}, {"openai", up}},
		FallbackAfter: 20 * time.Millisecond}
	ctx := WithReporter(context.Background(), func(s Switch) { sw = append(sw, s) })
	n := 0
	if err := tts.Synthesize(ctx, pipeline.TTSRequest{Text: "hi"}, func(p []int16) error { n += len(p); return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 320 || len(sw) != 2 || sw[1].From != "cartesia" || !errors.Is(sw[1].Err, pipeline.ErrFirstByteTimeout) {
		t.Fatalf("samples %d, switches %+v", n, sw)
	}
	// The caller's own cancellation never moves on.
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	spare := &scriptedTTS{samples: 320}
	tts = &TTS{Providers: []Named[pipeline.TTS]{{"a", &hangingTTS{}}, {"b", spare}}, FallbackAfter: time.Hour}
	if err := tts.Synthesize(cctx, pipeline.TTSRequest{Text: "hi"}, func([]int16) error { return nil }); !errors.Is(err, context.Canceled) || spare.calls != 0 {
		t.Fatalf("cancelled: %v, spare %d", err, spare.calls)
	}
}
