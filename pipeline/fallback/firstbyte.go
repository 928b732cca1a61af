package fallback

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// First-byte guard states.
const (
	fbWaiting int32 = iota
	fbStarted
	fbTimedOut
)

// errGaveUp is the cancellation cause of an attempt whose first output was late.
var errGaveUp = errors.New("fallback: first output too late")

// firstByte gives up on one attempt whose first output is late. Providers that
// honour pipeline.WithFirstTokenDeadline (openai, elevenlabs, cartesia) fail
// by themselves; for the others the guard cancels the attempt's context and
// turns what it returns into a pipeline.ErrFirstByteTimeout. The timer and the
// first output race on state, so exactly one of them wins. A nil *firstByte
// lets everything through.
type firstByte struct {
	stage, provider string
	after           time.Duration
	state           atomic.Int32
	timer           *time.Timer
	cancel          context.CancelCauseFunc
}

// armFirstByte starts the guard of one attempt; d <= 0 means none.
func armFirstByte(ctx context.Context, stage, provider string, d time.Duration) (context.Context, *firstByte) {
	if d <= 0 {
		return ctx, nil
	}
	g := &firstByte{stage: stage, provider: provider, after: d}
	ctx, g.cancel = context.WithCancelCause(ctx)
	ctx = pipeline.WithFirstTokenDeadline(ctx, time.Now().Add(d))
	g.timer = time.AfterFunc(d, func() {
		if g.state.CompareAndSwap(fbWaiting, fbTimedOut) {
			g.cancel(errGaveUp)
		}
	})
	return ctx, g
}

// pass reports whether output may go on to the caller: always once the first
// output beat the deadline, never once the deadline has won.
func (g *firstByte) pass() bool {
	if g == nil {
		return true
	}
	if g.state.CompareAndSwap(fbWaiting, fbStarted) {
		g.timer.Stop()
		return true
	}
	return g.state.Load() == fbStarted
}

// timeout is the error of an attempt that missed its deadline.
func (g *firstByte) timeout() error {
	return &pipeline.ProviderError{Provider: g.provider, Stage: g.stage, Retryable: true,
		Err: fmt.Errorf("%w: nothing within %s", pipeline.ErrFirstByteTimeout, g.after)}
}

// finish releases the guard and returns the attempt's outcome: err as it is,
// unless the deadline won, in which case a missed first byte (the provider's
// own report of it when it made one).
func (g *firstByte) finish(err error) error {
	if g == nil {
		return err
	}
	g.timer.Stop()
	g.cancel(nil)
	if g.state.Load() != fbTimedOut || errors.Is(err, pipeline.ErrFirstByteTimeout) {
		return err
	}
	return g.timeout()
}
