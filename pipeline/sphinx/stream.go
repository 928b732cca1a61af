package sphinx

import (
	"fmt"
	"sync"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/pipeline"
)

// partialEvery is how much audio passes between two looks at the hypothesis,
// which bounds how often partial results can be emitted.
const partialEvery = SampleRate * 160 / 1000 // 160 ms

// stream is one call's recognition stream. Write and Finalize append to a
// bounded queue and never block; one goroutine drains the queue into a
// borrowed decoder and calls the sink.
type stream struct {
	stt       *STT
	g         *grammar
	sink      func(pipeline.STTResult)
	maxQueued int // samples

	mu     sync.Mutex
	queue  []item
	queued int       // samples written and not yet decoded
	spare  [][]int16 // decoded frame buffers for reuse
	closed bool

	wake      chan struct{} // one slot: work was queued
	done      chan struct{} // closed by Close
	wg        sync.WaitGroup
	closeOnce sync.Once

	// Owned by the run goroutine.
	dec         *decoder
	failed      bool // the utterance hit an error; skip audio until Finalize
	samples     int  // samples in the current utterance
	sinceCheck  int  // samples since the hypothesis was last looked at
	lastPartial string
	utterances  int // finished so far
	// utt keeps the utterance's audio (up to maxQueued samples) for a second
	// pass when the first finds no phrase; see finalize.
	utt []int16
}

// item is a frame of audio or, when final is set, the end of an utterance.
type item struct {
	pcm   []int16
	final bool
}

func newStream(stt *STT, g *grammar, sink func(pipeline.STTResult)) *stream {
	s := &stream{
		stt:       stt,
		g:         g,
		sink:      sink,
		maxQueued: int(stt.cfg.MaxBuffered * SampleRate / time.Second),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	s.wg.Add(1)
	go s.run()
	return s
}

// Write queues a copy of pcm. It returns pipeline.ErrBackpressure, dropping the
// frame, when Config.MaxBuffered of audio is already waiting.
func (s *stream) Write(pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pipeline.ErrClosed
	}
	if s.queued+len(pcm) > s.maxQueued {
		s.mu.Unlock()
		return pipeline.ErrBackpressure
	}
	var buf []int16
	if n := len(s.spare); n > 0 && cap(s.spare[n-1]) >= len(pcm) {
		buf = s.spare[n-1][:len(pcm)]
		s.spare = s.spare[:n-1]
	} else {
		buf = make([]int16, len(pcm))
	}
	copy(buf, pcm)
	s.queue = append(s.queue, item{pcm: buf})
	s.queued += len(pcm)
	s.mu.Unlock()
	s.signal()
	return nil
}

// Finalize marks the end of the utterance. Every Finalize produces exactly one
// STTFinal on the sink, empty when no audio was written or nothing matched.
func (s *stream) Finalize() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pipeline.ErrClosed
	}
	s.queue = append(s.queue, item{final: true})
	s.mu.Unlock()
	s.signal()
	return nil
}

// Close stops the stream's goroutine, waits for it and returns its decoder to
// the pool. Pending audio without a Finalize is dropped. It must not be called
// from the sink.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.wg.Wait()
		s.stt.pool.unref(s.g)
	})
	return nil
}

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stream) run() {
	defer s.wg.Done()
	defer s.abandon()
	var batch []item
	for {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		for i, it := range batch {
			if !s.handle(it) {
				return
			}
			batch[i] = item{}
		}
	}
}

// handle processes one queued item and reports false when the stream is
// closing.
func (s *stream) handle(it item) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	if it.final {
		s.finalize()
		return true
	}
	ok := s.decode(it.pcm)
	s.mu.Lock()
	s.queued -= len(it.pcm)
	s.spare = append(s.spare, it.pcm)
	s.mu.Unlock()
	return ok
}

// decode feeds one frame, borrowing a decoder at the start of an utterance.
func (s *stream) decode(pcm []int16) bool {
	s.samples += len(pcm)
	if len(s.utt)+len(pcm) <= s.maxQueued {
		s.utt = append(s.utt, pcm...)
	}
	if s.failed {
		return true
	}
	if s.dec == nil {
		d, err := s.stt.pool.acquire(s.done, s.g)
		if err == errStopped {
			return false
		}
		if err != nil {
			s.fail(fmt.Errorf("sphinx: getting a decoder: %w", err))
			return true
		}
		if err := d.eng.startUtterance(); err != nil {
			s.stt.pool.discard(d)
			s.fail(fmt.Errorf("sphinx: starting an utterance: %w", err))
			return true
		}
		s.dec = d
	}
	if err := s.dec.eng.process(pcm); err != nil {
		s.stt.pool.discard(s.dec)
		s.dec = nil
		s.fail(fmt.Errorf("sphinx: decoding audio: %w", err))
		return true
	}
	s.sinceCheck += len(pcm)
	if s.sinceCheck >= partialEvery {
		s.sinceCheck = 0
		if h := s.dec.eng.partial(); h != "" && h != s.lastPartial {
			s.lastPartial = h
			s.sink(pipeline.STTResult{Kind: pipeline.STTPartial, Text: h, AudioDuration: s.duration()})
		}
	}
	return true
}

// finalize ends the utterance and emits its final result.
func (s *stream) finalize() {
	res := pipeline.STTResult{Kind: pipeline.STTFinal, AudioDuration: s.duration()}
	if s.dec != nil {
		text, conf, err := s.dec.eng.endUtterance()
		if err == nil && s.g.narrow && s.utterances == 0 && len(s.utt) > 0 {
			// A phone line's first utterance: the decoder's cepstral mean
			// came from other audio and misleads even a non-empty result;
			// the first pass has adapted it to this line, so decode again.
			if t2, c2, err2 := redecode(s.dec.eng, s.utt); err2 != nil {
				err = err2
			} else if t2 != "" {
				text, conf = t2, c2
			}
		} else if err == nil && text == "" && s.lastPartial != "" && len(s.utt) > 0 {
			// The search heard words but reached no complete phrase. PocketSphinx's
			// live cepstral normalisation adapts only at the end of an utterance,
			// so a voice unlike the last one (typically a caller's first words) is
			// often misheard; once more with the normalisation adapted usually
			// succeeds. It costs one decode of the utterance, only on failures.
			text, conf, err = redecode(s.dec.eng, s.utt)
		}
		if err != nil {
			s.stt.pool.discard(s.dec)
			s.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: fmt.Errorf("sphinx: ending an utterance: %w", err)})
		} else {
			s.stt.pool.release(s.dec)
			res.Text, res.Confidence = text, conf
		}
		s.dec = nil
	}
	s.sink(res)
	s.utterances++
	s.samples, s.sinceCheck, s.lastPartial, s.failed = 0, 0, "", false
	if cap(s.utt) > keepUtterance {
		s.utt = nil // one long utterance must not pin its buffer for the whole call
	} else {
		s.utt = s.utt[:0]
	}
}

// keepUtterance is the largest utterance buffer (10 s of audio) kept for reuse.
const keepUtterance = 10 * SampleRate

func redecode(e engine, pcm []int16) (string, float64, error) {
	if err := e.startUtterance(); err != nil {
		return "", 0, err
	}
	for off := 0; off < len(pcm); off += 320 {
		if err := e.process(pcm[off:min(off+320, len(pcm))]); err != nil {
			return "", 0, err
		}
	}
	return e.endUtterance()
}

// fail reports an error and skips the rest of the utterance.
func (s *stream) fail(err error) {
	s.stt.log.Warn("sphinx: utterance failed", "err", err)
	s.failed = true
	s.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: err})
}

// abandon ends an unfinished utterance so its decoder goes back clean.
func (s *stream) abandon() {
	if s.dec == nil {
		return
	}
	if _, _, err := s.dec.eng.endUtterance(); err != nil {
		s.stt.pool.discard(s.dec)
	} else {
		s.stt.pool.release(s.dec)
	}
	s.dec = nil
}

func (s *stream) duration() time.Duration { return media.DurationOf(s.samples, SampleRate) }

var _ pipeline.STTStream = (*stream)(nil)
