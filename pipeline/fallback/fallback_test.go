package fallback

import (
	"context"
	"errors"
	"strings"
	"testing"

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
