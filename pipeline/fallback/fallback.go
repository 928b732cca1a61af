// Package fallback chains providers of one stage: when the current one fails
// in a way pipeline.ShouldFallback says another provider may not (HTTP 429 or
// 5xx, a dropped stream, a missed first-byte deadline) and nothing of its
// answer has reached the caller yet, the next provider is tried, within the
// same turn. Each switch is reported through the chain's OnSwitch and through
// the reporter carried by the context (WithReporter); the call emits its
// provider.fallback event from the latter, since one chain serves every call
// of an agent.
package fallback

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// Switch describes one move to the next provider.
type Switch struct {
	Stage string // "stt", "llm" or "tts"
	From  string // the failing provider's name
	To    string
	Err   error
}

// Named is a provider with the name used in logs and events.
type Named[T any] struct {
	Name     string
	Provider T
}

type reporterKey struct{}

// WithReporter returns a context under which every chain also tells report of
// each switch it makes. report is called from the chain's goroutine (the
// caller of Generate, Synthesize or a stream's own goroutine) and must not
// block.
func WithReporter(ctx context.Context, report func(Switch)) context.Context {
	return context.WithValue(ctx, reporterKey{}, report)
}

// notify tells the chain's own callback and the context's reporter of s.
func notify(ctx context.Context, onSwitch func(Switch), s Switch) {
	if onSwitch != nil {
		onSwitch(s)
	}
	if r, ok := ctx.Value(reporterKey{}).(func(Switch)); ok && r != nil {
		r(s)
	}
}

// LLM tries its providers in order.
type LLM struct {
	Providers []Named[pipeline.LLM]
	// OnSwitch, when set, is told of each move to the next provider.
	OnSwitch func(Switch)
	// FallbackAfter, when positive, is how long every provider but the last
	// may take to send its first chunk before the chain gives up on it and
	// moves on (pipeline.ErrFirstByteTimeout). It reaches the provider as a
	// pipeline.WithFirstTokenDeadline too. The last provider has no such
	// limit: there is nothing left to fall back to.
	FallbackAfter time.Duration
	// Cooldown, when positive, is how long a provider that failed over to the
	// next one is skipped by later requests; after it, the next request tries
	// it again. The last provider is never skipped. Skipping is not reported
	// as a switch: the switch that benched the provider was.
	Cooldown time.Duration

	bench bench
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
		last := i == len(l.Providers)-1
		if !last && l.Cooldown > 0 && l.bench.skipped(i, time.Now()) {
			continue
		}
		emitted := false
		actx, g := ctx, (*firstByte)(nil)
		if !last {
			actx, g = armFirstByte(ctx, "llm", p.Name, l.FallbackAfter)
		}
		err := p.Provider.Generate(actx, req, func(c pipeline.LLMChunk) {
			if !g.pass() {
				return // too late: the chain is moving on
			}
			emitted = true
			sink(c)
		})
		err = g.finish(err)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
		if emitted || ctx.Err() != nil || !pipeline.ShouldFallback(err) || last {
			if len(errs) == 1 {
				return err
			}
			return errors.Join(errs...)
		}
		if l.Cooldown > 0 {
			l.bench.sit(i, len(l.Providers), time.Now().Add(l.Cooldown))
		}
		notify(ctx, l.OnSwitch, Switch{Stage: "llm", From: p.Name, To: l.Providers[l.bench.next(i, len(l.Providers), l.Cooldown > 0)].Name, Err: err})
	}
	return errors.Join(errs...)
}

// TTS tries its providers in order, with the same rule as LLM: a provider
// may be replaced only before any of its audio was passed on.
type TTS struct {
	Providers []Named[pipeline.TTS]
	// OnSwitch, when set, is told of each move to the next provider.
	OnSwitch func(Switch)
	// FallbackAfter, when positive, is how long every provider but the last
	// may take to send its first audio before the chain moves on, as for LLM.
	FallbackAfter time.Duration
	// Cooldown, when positive, skips a provider that failed over, as for LLM.
	Cooldown time.Duration

	bench bench
}

// Synthesize speaks req with the first provider that succeeds.
func (t *TTS) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func([]int16) error) error {
	if len(t.Providers) == 0 {
		return errors.New("fallback: no TTS provider configured")
	}
	var errs []error
	for i, p := range t.Providers {
		last := i == len(t.Providers)-1
		if !last && t.Cooldown > 0 && t.bench.skipped(i, time.Now()) {
			continue
		}
		emitted := false
		actx, g := ctx, (*firstByte)(nil)
		if !last {
			actx, g = armFirstByte(ctx, "tts", p.Name, t.FallbackAfter)
		}
		err := p.Provider.Synthesize(actx, req, func(pcm []int16) error {
			if !g.pass() {
				return g.timeout()
			}
			emitted = true
			return sink(pcm)
		})
		err = g.finish(err)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
		if emitted || ctx.Err() != nil || !pipeline.ShouldFallback(err) || last {
			if len(errs) == 1 {
				return err
			}
			return errors.Join(errs...)
		}
		if t.Cooldown > 0 {
			t.bench.sit(i, len(t.Providers), time.Now().Add(t.Cooldown))
		}
		notify(ctx, t.OnSwitch, Switch{Stage: "tts", From: p.Name, To: t.Providers[t.bench.next(i, len(t.Providers), t.Cooldown > 0)].Name, Err: err})
	}
	return errors.Join(errs...)
}

var (
	_ pipeline.LLM = (*LLM)(nil)
	_ pipeline.TTS = (*TTS)(nil)
)
