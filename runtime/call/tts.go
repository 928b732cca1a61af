package call

import (
	"context"
	"sync"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/pacing"
	"github.com/parley-voice/parley/pipeline"
)

// ttsJob is one sentence to synthesise for reply generation gen.
type ttsJob struct {
	ctx  context.Context
	gen  uint64
	sid  uint64
	text string
}

// sentenceAudio is what the worker produced for one sentence, guarded by ttsWorker.mu.
type sentenceAudio struct {
	produced int
	done     bool
}

// ttsWorker synthesises a call's sentences in order on its own goroutine and
// queues the audio on the player in whole frames. mu makes "check the reply is
// still live, then enqueue" atomic with respect to barge-in's "cancel, then clear",
// so no audio of a cancelled reply is ever queued after the clear.
type ttsWorker struct {
	tts    pipeline.TTS
	req    pipeline.TTSRequest
	player *pacing.Player
	post   func(msg)

	mu     sync.Mutex
	audio  map[uint64]*sentenceAudio
	jobs   []ttsJob      // queued sentences, in order; unbounded but per reply small
	wake   chan struct{} // one slot: a job was queued or the worker should stop
	closed bool
	trace  ttsTrace // set by startTelemetry before run starts (trace.go)
}

func newTTSWorker(t pipeline.TTS, req pipeline.TTSRequest, p *pacing.Player, post func(msg)) *ttsWorker {
	return &ttsWorker{tts: t, req: req, player: p, post: post,
		audio: make(map[uint64]*sentenceAudio), wake: make(chan struct{}, 1)}
}

// submit queues a job without blocking; it reports false once the worker stopped.
func (w *ttsWorker) submit(j ttsJob) bool {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	w.audio[j.sid] = &sentenceAudio{}
	w.jobs = append(w.jobs, j)
	w.mu.Unlock()
	w.signal()
	return true
}

func (w *ttsWorker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// close stops the worker after the job in progress.
func (w *ttsWorker) close() {
	w.mu.Lock()
	w.closed = true
	w.jobs = nil
	w.mu.Unlock()
	w.signal()
}

// next blocks until a job is queued (ok) or the worker is closed.
func (w *ttsWorker) next() (ttsJob, bool) {
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return ttsJob{}, false
		}
		if len(w.jobs) > 0 {
			j := w.jobs[0]
			w.jobs[0] = ttsJob{}
			w.jobs = w.jobs[1:]
			w.mu.Unlock()
			return j, true
		}
		w.mu.Unlock()
		<-w.wake
	}
}

// producedOf returns how many samples sentence sid has produced so far.
func (w *ttsWorker) producedOf(sid uint64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if a := w.audio[sid]; a != nil {
		return a.produced
	}
	return 0
}

// forget drops bookkeeping for finished sentences.
func (w *ttsWorker) forget(sids []uint64) {
	w.mu.Lock()
	for _, s := range sids {
		delete(w.audio, s)
	}
	w.mu.Unlock()
}

func (w *ttsWorker) run() {
	frame := media.SamplesPerFrame(w.req.SampleRate)
	var carry []int16
	for {
		j, ok := w.next()
		if !ok {
			return
		}
		carry = carry[:0]
		chunk := uint64(0)
		first := true
		enqueue := func(pcm []int16) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if err := j.ctx.Err(); err != nil {
				return err
			}
			cp := make([]int16, len(pcm))
			copy(cp, pcm)
			w.player.Enqueue(pacing.Segment{ID: j.sid<<16 | chunk, PCM: cp})
			chunk++
			if a := w.audio[j.sid]; a != nil {
				a.produced += len(cp)
			}
			return nil
		}
		err := j.ctx.Err()
		if err == nil {
			req := w.req
			req.Text = j.text
			ctx, span := w.trace.start(j.ctx, &j)
			err = w.tts.Synthesize(ctx, req, func(pcm []int16) error {
				if first && len(pcm) > 0 {
					first = false
					w.trace.firstAudio(span)
					w.post(msg{kind: msgTTSAudio, gen: j.gen, seq: int(j.sid)})
				}
				carry = append(carry, pcm...)
				whole := len(carry) / frame * frame
				if whole == 0 {
					return nil
				}
				if err := enqueue(carry[:whole]); err != nil {
					return err
				}
				carry = append(carry[:0], carry[whole:]...)
				return nil
			})
			if err == nil && len(carry) > 0 {
				err = enqueue(carry) // the player pads the last partial frame
			}
			if span != nil {
				w.trace.end(span, w.producedOf(j.sid), err)
			}
		}
		w.mu.Lock()
		produced := 0
		if a := w.audio[j.sid]; a != nil {
			a.done = true
			produced = a.produced
		}
		w.mu.Unlock()
		w.post(msg{kind: msgTTSDone, gen: j.gen, seq: int(j.sid), err: err, pcm: nil, str: j.text, ext: &msgExt{play: pacing.Event{PlayedSamples: produced}}})
	}
}
