package openaiaudio

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/media/wav"
	"github.com/parley-voice/parley/pipeline"
)

// Upload rates: Whisper-family models work at 16 kHz, so more is wasted bytes,
// and phone-band audio loses nothing at 8 kHz.
const (
	wideRate   = 16000
	narrowRate = 8000
)

// NewStream returns a per-utterance transcription stream. It buffers audio
// and transcribes it on Finalize, emitting one STTFinal per Finalize (after
// an STTError when the request fails) and no partials. Confidence is 0: the
// API does not report one.
func (c *Client) NewStream(ctx context.Context, cfg pipeline.STTConfig, sink func(pipeline.STTResult)) (pipeline.STTStream, error) {
	if cfg.SampleRate < resample.MinRate || cfg.SampleRate > resample.MaxRate {
		return nil, fmt.Errorf("openaiaudio: sample rate %d Hz: %w", cfg.SampleRate, pipeline.ErrUnsupportedRate)
	}
	up := min(cfg.SampleRate, wideRate)
	if cfg.Bandwidth > 0 && cfg.Bandwidth <= narrowRate/2 {
		up = min(up, narrowRate)
	}
	prompt := c.cfg.Prompt
	if len(cfg.Phrases) > 0 {
		prompt = strings.TrimSpace(prompt + " " + strings.Join(cfg.Phrases, ", "))
	}
	s := &sttStream{
		c:      c,
		rate:   cfg.SampleRate,
		upRate: up,
		lang:   isoLanguage(cfg.Language),
		prompt: prompt,
		sink:   sink,
		max:    int(c.cfg.MaxUtterance * time.Duration(cfg.SampleRate) / time.Second),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// isoLanguage turns a BCP 47 tag ("en-US") into the ISO-639-1 code Whisper takes.
func isoLanguage(tag string) string {
	lang, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(lang)
}

// sttStream buffers one utterance at a time; Finalize hands it to the run
// goroutine, which uploads utterances in order and calls the sink.
type sttStream struct {
	c            *Client
	rate, upRate int
	lang, prompt string
	sink         func(pipeline.STTResult)
	max          int // samples per utterance

	mu     sync.Mutex
	buf    []int16
	jobs   [][]int16
	closed bool

	wake      chan struct{}
	done      chan struct{}
	life      context.Context
	cancel    context.CancelFunc // aborts an upload in flight on Close
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Write appends a copy of pcm to the utterance. Beyond Config.MaxUtterance it
// returns pipeline.ErrBackpressure and drops the frame.
func (s *sttStream) Write(pcm []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pipeline.ErrClosed
	}
	if len(s.buf)+len(pcm) > s.max {
		return pipeline.ErrBackpressure
	}
	s.buf = append(s.buf, pcm...)
	return nil
}

// Finalize ends the utterance and queues its transcription.
func (s *sttStream) Finalize() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pipeline.ErrClosed
	}
	s.jobs = append(s.jobs, s.buf)
	s.buf = nil
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close cancels an upload in flight, drops queued utterances and waits for
// the stream's goroutine. It must not be called from the sink.
func (s *sttStream) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.cancel()
		s.wg.Wait()
	})
	return nil
}

func (s *sttStream) run() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			if len(s.jobs) == 0 {
				s.mu.Unlock()
				break
			}
			pcm := s.jobs[0]
			s.jobs = s.jobs[1:]
			s.mu.Unlock()
			if !s.transcribe(pcm) {
				return
			}
		}
	}
}

// transcribe uploads one utterance and emits its final; false means closing.
func (s *sttStream) transcribe(pcm []int16) bool {
	dur := media.DurationOf(len(pcm), s.rate)
	final := pipeline.STTResult{Kind: pipeline.STTFinal, AudioDuration: dur}
	if dur < minUtterance {
		s.sink(final)
		return true
	}
	text, err := s.request(pcm)
	if s.life.Err() != nil {
		return false
	}
	if err != nil {
		s.c.log.Warn("openaiaudio: transcription failed", "err", err, "status", statusCode(err))
		s.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: err})
	}
	final.Text = text
	s.sink(final)
	return true
}

func (s *sttStream) request(pcm []int16) (string, error) {
	if s.upRate != s.rate {
		var err error
		if pcm, err = resample.Convert(pcm, s.rate, s.upRate); err != nil {
			return "", fmt.Errorf("openaiaudio: preparing audio: %w", err)
		}
	}
	var body bytes.Buffer
	body.Grow(44 + 2*len(pcm))
	if err := wav.Encode(&body, pcm, s.upRate); err != nil {
		return "", fmt.Errorf("openaiaudio: preparing audio: %w", err)
	}
	resp, err := s.c.api.CreateTranscription(s.life, openai.AudioRequest{
		Model:    s.c.cfg.TranscriptionModel,
		FilePath: "utterance.wav", // names the container for the server
		Reader:   &body,
		Prompt:   s.prompt,
		Language: s.lang,
		Format:   openai.AudioResponseFormatJSON,
	})
	if err != nil {
		return "", providerError("stt", fmt.Errorf("transcribing %v of audio (model %s): %w",
			media.DurationOf(len(pcm), s.upRate).Round(time.Millisecond), s.c.cfg.TranscriptionModel, err))
	}
	return strings.TrimSpace(resp.Text), nil
}

var _ pipeline.STTStream = (*sttStream)(nil)
