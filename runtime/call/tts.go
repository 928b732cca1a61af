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
	jobs   chan ttsJob

	mu    sync.Mutex
	audio map[uint64]*sentenceAudio
}

func newTTSWorker(t pipeline.TTS, req pipeline.TTSRequest, p *pacing.Player, post func(msg)) *ttsWorker {
	return &ttsWorker{tts: t, req: req, player: p, post: post,
		jobs: make(chan ttsJob, 256), audio: make(map[uint64]*sentenceAudio)}
}

// submit queues a job; it reports false if the queue is full.
func (w *ttsWorker) submit(j ttsJob) bool {
	w.mu.Lock()
	w.audio[j.sid] = &sentenceAudio{}
	w.mu.Unlock()
	select {
	case w.jobs <- j:
		return true
	default:
		return false
	}
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
	for j := range w.jobs {
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
			err = w.tts.Synthesize(j.ctx, req, func(pcm []int16) error {
				if first && len(pcm) > 0 {
					first = false
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
		}
		w.mu.Lock()
		produced := 0
		if a := w.audio[j.sid]; a != nil {
			a.done = true
			produced = a.produced
		}
		w.mu.Unlock()
		w.post(msg{kind: msgTTSDone, gen: j.gen, seq: int(j.sid), err: err, pcm: nil, str: j.text, play: pacing.Event{PlayedSamples: produced}})
	}
}
