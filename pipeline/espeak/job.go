package espeak

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// nativeRate is the sample rate libespeak-ng synthesises at.
const nativeRate = 22050

// errDone ends a job's stream of chunks.
var errDone = errors.New("espeak: synthesis done")

// errCancelled is what a job's synthesis returns when stop interrupted it.
var errCancelled = errors.New("espeak: synthesis cancelled")

// job is one synthesis. A helper goroutine runs the library, which pushes
// chunks as it produces them; the Synthesize caller pulls them with next. The
// chunk list is unbounded but a sentence's audio is small, and it lets the
// library finish and release its lock without waiting for a slow sink.
type job struct {
	text   string
	voices []string // tried in order
	rate   int

	mu       sync.Mutex
	chunks   [][]int16
	finished bool
	err      error // why synthesis ended, nil when it completed

	wake      chan struct{} // one slot: a chunk or the end was pushed
	cancel    chan struct{} // closed by stop
	cancelled atomic.Bool   // read by the library's callback
	exited    chan struct{} // closed when the helper goroutine returns
	stopOnce  sync.Once
}

func startJob(text string, voices []string, rate int) *job {
	j := &job{
		text:   text,
		voices: voices,
		rate:   rate,
		wake:   make(chan struct{}, 1),
		cancel: make(chan struct{}),
		exited: make(chan struct{}),
	}
	go j.run()
	return j
}

func (j *job) run() {
	defer close(j.exited)
	err := synthesize(j)
	j.mu.Lock()
	j.finished, j.err = true, err
	j.mu.Unlock()
	j.signal()
}

// push queues a chunk of native-rate audio. It reports false when the job was
// stopped, which tells the library to abort.
func (j *job) push(chunk []int16) bool {
	if j.cancelled.Load() {
		return false
	}
	j.mu.Lock()
	j.chunks = append(j.chunks, chunk)
	j.mu.Unlock()
	j.signal()
	return true
}

func (j *job) signal() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// next returns the next chunk, waiting for the library to produce it. It
// returns errDone after the last chunk, the synthesis error if it failed, or
// ctx.Err().
func (j *job) next(ctx context.Context) ([]int16, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j.mu.Lock()
		if len(j.chunks) > 0 {
			c := j.chunks[0]
			j.chunks[0] = nil
			j.chunks = j.chunks[1:]
			j.mu.Unlock()
			return c, nil
		}
		finished, err := j.finished, j.err
		j.mu.Unlock()
		if finished {
			if err == nil {
				return nil, errDone
			}
			return nil, err
		}
		select {
		case <-j.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// stop interrupts the synthesis if it is still running and waits for the
// helper goroutine to return. Idempotent.
func (j *job) stop() {
	j.stopOnce.Do(func() {
		j.cancelled.Store(true)
		close(j.cancel)
	})
	<-j.exited
}
