package openai

import (
	"context"
	"sync"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// firstToken cancels a generation whose first token is late. The timer and the
// stream reader race under mu, so exactly one of them wins.
type firstToken struct {
	mu    sync.Mutex
	timer *time.Timer
	after time.Duration
	gotIt bool
	fired bool
}

// startFirstToken arms the deadline: the shorter of timeout and the deadline set with
// pipeline.WithFirstTokenDeadline. It fails at once when that deadline has passed.
func startFirstToken(ctx context.Context, timeout time.Duration, cancel context.CancelFunc) (*firstToken, error) {
	ft := &firstToken{after: timeout}
	if dl, ok := pipeline.FirstTokenDeadline(ctx); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, firstTokenError("0s", nil)
		}
		if ft.after == 0 || left < ft.after {
			ft.after = left.Round(time.Millisecond)
		}
	}
	if ft.after > 0 {
		ft.timer = time.AfterFunc(ft.after, func() {
			ft.mu.Lock()
			defer ft.mu.Unlock()
			if !ft.gotIt {
				ft.fired = true
				cancel()
			}
		})
	}
	return ft, nil
}

// got records a token; false means the deadline won the race and the stream is dead.
func (ft *firstToken) got() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.fired {
		return false
	}
	ft.gotIt = true
	return true
}

func (ft *firstToken) seen() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.gotIt
}

func (ft *firstToken) timedOut() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.fired
}

func (ft *firstToken) stop() {
	if ft.timer != nil {
		ft.timer.Stop()
	}
}
