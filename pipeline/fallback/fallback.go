// Package fallback chains providers of one stage: when the current one fails
// in a way pipeline.ShouldFallback says another provider may not (HTTP 429 or
// 5xx, a dropped stream, a missed first-byte deadline) and nothing of its
// answer has reached the caller yet, the next provider is tried, within the
// same turn. Each switch is reported through OnSwitch (the call emits an event
// from it).
package fallback

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-voice/parley/pipeline"
)

// Switch describes one move to the next provider.
type Switch struct {
	Stage string // "llm" or "tts"
	From  string // the failing provider's name
	To    string
	Err   error
}

// Named is a provider with the name used in logs and events.
type Named[T any] struct {
	Name     string
	Provider T
}

// LLM tries its providers in order.
type LLM struct {
	Providers []Named[pipeline.LLM]
	// OnSwitch, when set, is told of each move to the next provider.
	OnSwitch func(Switch)
}

// Generate runs the first provider and moves on while a provider fails before
// emitting anything with an error that allows it. Once a chunk has been passed
// on, a failure is returned as it is: the caller has started speaking the
// reply.
func (l *LLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	if len(l.Providers) == 0 {
		return errors.New("fallback: no LLM provider configured")
	}
	var errs []error
	for i, p := range l.Providers {
		emitted := false
		err := p.Provider.Generate(ctx, req, func(c pipeline.LLMChunk) {
			emitted = true
			sink(c)
		})
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
		if emitted || ctx.Err() != nil || !pipeline.ShouldFallback(err) || i == len(l.Providers)-1 {
			if len(errs) == 1 {
				return err
			}
			return errors.Join(errs...)
		}
		if l.OnSwitch != nil {
			l.OnSwitch(Switch{Stage: "llm", From: p.Name, To: l.Providers[i+1].Name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// TTS tries its providers in order, with the same rule as LLM: a provider
// may be replaced only before any of its audio was passed on.
type TTS struct {
	Providers []Named[pipeline.TTS]
	OnSwitch  func(Switch)
}

// Synthesize speaks req with the first provider that succeeds.
func (t *TTS) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	if len(t.Providers) == 0 {
		return errors.New("fallback: no TTS provider configured")
	}
	var errs []error
	for i, p := range t.Providers {
		emitted := false
		err := p.Provider.Synthesize(ctx, req, func(pcm []int16) error {
			emitted = true
			return sink(pcm)
		})
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
		if emitted || ctx.Err() != nil || !pipeline.ShouldFallback(err) || i == len(t.Providers)-1 {
			if len(errs) == 1 {
				return err
			}
			return errors.Join(errs...)
		}
		if t.OnSwitch != nil {
			t.OnSwitch(Switch{Stage: "tts", From: p.Name, To: t.Providers[i+1].Name, Err: err})
		}
	}
	return errors.Join(errs...)
}

var (
	_ pipeline.LLM = (*LLM)(nil)
	_ pipeline.TTS = (*TTS)(nil)
)
