package fallback

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/parley-voice/parley/pipeline"
)

// replaySeconds is how much of the audio not yet transcribed a stream keeps to
// replay to the next provider after a switch.
const replaySeconds = 8

// STT opens each call's recognition stream on the first provider that works,
// and moves a stream to the next provider when the current one reports an
// error (an STTError result, or a failed Write other than backpressure) that
// pipeline.ShouldFallback allows.
//
// The stream keeps the audio written since the last final result (at most
// replaySeconds of it) and replays it to the new provider, with the Finalize
// calls still awaiting their final result, so the utterance in progress is
// normally not lost. Audio written while the next provider's stream is being
// opened is buffered and replayed too; partial results of the failed provider
// are not repeated, and audio older than replaySeconds is lost.
type STT struct {
	Providers []Named[pipeline.STT]
	// OnSwitch, when set, is told of each move to the next provider.
	OnSwitch func(Switch)
}

// NewStream opens a stream on the first provider that opens, moving on while
// opening fails with an error that allows it. ctx bounds the stream's life:
// streams opened later, after a switch, are opened with it too.
func (s *STT) NewStream(ctx context.Context, cfg pipeline.STTConfig, sink func(pipeline.STTResult)) (pipeline.STTStream, error) {
	if len(s.Providers) == 0 {
		return nil, errors.New("fallback: no speech-to-text provider configured")
	}
	st := &sttStream{chain: s, ctx: ctx, cfg: cfg, sink: sink, limit: replaySeconds * max(cfg.SampleRate, 1)}
	var errs []error
	for i, p := range s.Providers {
		st.mu.Lock()
		st.idx = i
		st.mu.Unlock()
		inner, err := p.Provider.NewStream(ctx, cfg, st.sinkFor(i))
		if err == nil {
			st.mu.Lock()
			if st.idx != i {
				// It failed while opening and a switch is under way; that
				// switch opens the next provider.
				st.mu.Unlock()
				_ = inner.Close()
				return st, nil
			}
			st.cur = inner
			st.mu.Unlock()
			return st, nil
		}
		st.mu.Lock()
		switching := st.idx != i
		st.mu.Unlock()
		if switching {
			return st, nil // it reported an error before failing; that switch goes on
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
		if ctx.Err() != nil || !pipeline.ShouldFallback(err) || i == len(s.Providers)-1 {
			if len(errs) == 1 {
				return nil, err
			}
			return nil, errors.Join(errs...)
		}
		notify(ctx, s.OnSwitch, Switch{Stage: "stt", From: p.Name, To: s.Providers[i+1].Name, Err: err})
	}
	return nil, errors.Join(errs...)
}

// sttStream is a recognition stream that can move to the next provider. Lock
// order: wmu (serialises everything written to the current inner stream,
// replays included) before mu (the state). Inner streams may call the sink
// from inside Write or Finalize, so mu is never held while calling them.
type sttStream struct {
	chain *STT
	// ctx is the stream's lifetime handle, given to NewStream: the streams of
	// later providers are opened with it.
	ctx   context.Context
	cfg   pipeline.STTConfig
	sink  func(pipeline.STTResult)
	limit int // samples of replay kept

	wmu sync.Mutex
	mu  sync.Mutex
	// idx is the provider whose results are passed on; cur its open stream,
	// nil while a switch is opening it (or once every provider has failed).
	idx    int
	cur    pipeline.STTStream
	closed bool
	failed error // set once no provider is left
	// replay holds the audio written since the last final result; finals
	// holds the offsets in it of the Finalize calls whose result is pending.
	replay []int16
	finals []int
	wg     sync.WaitGroup // switch goroutines
}

// Write passes the frame on and keeps a copy for a replay.
func (s *sttStream) Write(pcm []int16) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pipeline.ErrClosed
	}
	s.keep(pcm)
	cur, idx, failed := s.cur, s.idx, s.failed
	s.mu.Unlock()
	if cur == nil {
		return failed // nil while a switch is under way: the frame is kept
	}
	err := cur.Write(pcm)
	if err != nil && !errors.Is(err, pipeline.ErrBackpressure) && pipeline.ShouldFallback(err) && s.fail(idx, err) {
		return nil
	}
	return err
}

// Finalize asks the current provider for the final result, remembering the
// request so that a switch repeats it.
func (s *sttStream) Finalize() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pipeline.ErrClosed
	}
	s.finals = append(s.finals, len(s.replay))
	cur, idx, failed := s.cur, s.idx, s.failed
	s.mu.Unlock()
	if cur == nil {
		return failed
	}
	err := cur.Finalize()
	if err != nil && pipeline.ShouldFallback(err) && s.fail(idx, err) {
		return nil
	}
	return err
}

// Close closes the current provider's stream after any switch in progress.
func (s *sttStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	cur := s.cur
	s.cur = nil
	s.mu.Unlock()
	if cur != nil {
		return cur.Close()
	}
	return nil
}

// keep appends pcm to the replay, dropping the oldest audio beyond the limit
// (a quarter of it at a time, so the copy is rare). Called with mu held.
func (s *sttStream) keep(pcm []int16) {
	if over := len(s.replay) + len(pcm) - s.limit; over > 0 {
		drop := min(max(over, s.limit/4), len(s.replay))
		s.replay = append(s.replay[:0], s.replay[drop:]...)
		for i := range s.finals {
			s.finals[i] = max(s.finals[i]-drop, 0)
		}
	}
	s.replay = append(s.replay, pcm...)
}

// sinkFor passes on the results of provider i while it is the current one.
func (s *sttStream) sinkFor(i int) func(pipeline.STTResult) {
	return func(r pipeline.STTResult) {
		s.mu.Lock()
		if s.closed || s.idx != i {
			s.mu.Unlock()
			return // a provider the stream has left
		}
		switch r.Kind {
		case pipeline.STTError:
			if s.switchLocked(i, r.Err) {
				s.mu.Unlock()
				return
			}
		case pipeline.STTFinal:
			// The oldest pending Finalize is answered: its audio is done with.
			// A final nobody asked for (the provider's own endpointing)
			// covers everything written so far.
			if len(s.finals) == 0 {
				s.replay = s.replay[:0]
			} else {
				cut := min(s.finals[0], len(s.replay))
				s.replay = append(s.replay[:0], s.replay[cut:]...)
				s.finals = s.finals[1:]
				for j := range s.finals {
					s.finals[j] = max(s.finals[j]-cut, 0)
				}
			}
		}
		s.mu.Unlock()
		s.sink(r)
	}
}

// fail moves the stream off provider i after err, if that is allowed.
func (s *sttStream) fail(i int, err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.idx != i {
		return true // already moving on
	}
	return s.switchLocked(i, err)
}

// switchLocked starts the move from provider i to the next one, unless err
// does not allow it or i is the last. Called with mu held.
func (s *sttStream) switchLocked(i int, err error) bool {
	if s.closed || i == len(s.chain.Providers)-1 || !pipeline.ShouldFallback(err) || s.ctx.Err() != nil {
		return false
	}
	old := s.cur
	s.cur = nil
	s.idx = i + 1
	s.wg.Add(1)
	go s.switchFrom(old, i, err)
	return true
}

// switchFrom closes the failed stream, opens the next provider's (and the
// ones after it while opening fails) and replays the kept audio to it.
func (s *sttStream) switchFrom(old pipeline.STTStream, from int, err error) {
	defer s.wg.Done()
	if old != nil {
		_ = old.Close()
	}
	ps := s.chain.Providers
	for to := from + 1; ; to++ {
		notify(s.ctx, s.chain.OnSwitch, Switch{Stage: "stt", From: ps[to-1].Name, To: ps[to].Name, Err: err})
		inner, oerr := ps[to].Provider.NewStream(s.ctx, s.cfg, s.sinkFor(to))
		if oerr != nil {
			s.mu.Lock()
			if s.closed || s.idx != to {
				s.mu.Unlock()
				return
			}
			if to < len(ps)-1 && pipeline.ShouldFallback(oerr) && s.ctx.Err() == nil {
				s.idx = to + 1
				s.mu.Unlock()
				err = fmt.Errorf("opening %s: %w", ps[to].Name, oerr)
				continue
			}
			s.failed = fmt.Errorf("speech-to-text: every provider failed, last %s: %w", ps[to].Name, oerr)
			s.mu.Unlock()
			if s.ctx.Err() == nil {
				s.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: oerr})
			}
			return
		}
		s.install(inner, to)
		return
	}
}

// install makes inner, provider to's new stream, the current one and replays
// the kept audio and pending Finalize calls to it.
func (s *sttStream) install(inner pipeline.STTStream, to int) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed || s.idx != to {
		s.mu.Unlock()
		_ = inner.Close()
		return
	}
	s.cur = inner
	replay := append([]int16(nil), s.replay...)
	finals := append([]int(nil), s.finals...)
	s.mu.Unlock()
	frame := max(s.cfg.SampleRate/50, 1) // 20 ms
	live := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.cur == inner
	}
	off := 0
	for _, f := range append(finals, -1) {
		end := f
		if f < 0 {
			end = len(replay)
		}
		for ; off < end; off += frame {
			if err := inner.Write(replay[off:min(off+frame, end)]); err != nil && !errors.Is(err, pipeline.ErrBackpressure) {
				if pipeline.ShouldFallback(err) {
					s.fail(to, err)
				}
				return
			}
		}
		off = end
		if f >= 0 {
			if err := inner.Finalize(); err != nil {
				if pipeline.ShouldFallback(err) {
					s.fail(to, err)
				}
				return
			}
		}
		if !live() {
			return
		}
	}
}

var _ pipeline.STT = (*STT)(nil)
