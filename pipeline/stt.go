package pipeline

import (
	"context"
	"time"
)

// STT is a speech-to-text provider. It opens one stream per call.
type STT interface {
	// NewStream opens a recognition stream. sink receives results from the stream's
	// own goroutine until the stream is closed; sink must not block.
	NewStream(ctx context.Context, cfg STTConfig, sink func(STTResult)) (STTStream, error)
}

// STTConfig describes the audio a stream will receive and what to listen for.
type STTConfig struct {
	// SampleRate of the PCM16 mono audio written to the stream.
	SampleRate int
	// Language is a BCP 47 tag such as "en-US"; empty means the provider default.
	Language string
	// Phrases the agent expects to hear at this point of the conversation; grammar
	// based recognisers build their grammar from them, others may use them as hints.
	Phrases []string
	// Bandwidth is the highest frequency the audio really carries, in Hz: 4000
	// for a phone call converted from 8 kHz to SampleRate; 0 means the full band
	// (SampleRate/2). Recognisers whose models expect wideband speech adapt to it.
	Bandwidth int
}

// STTStream receives audio for one call.
type STTStream interface {
	// Write queues one frame of PCM16 mono audio at the configured rate. It must not
	// block the caller; a stream that cannot keep up returns ErrBackpressure and
	// drops the frame. The stream copies what it keeps: pcm may be reused after Write.
	Write(pcm []int16) error
	// Finalize asks for the final result of the speech written since the last final
	// result (the turn taker decided the caller finished). The result arrives on sink.
	Finalize() error
	// Close releases the stream and waits for its goroutines to stop. Idempotent.
	Close() error
}

// STTResultKind tells partial from final results.
type STTResultKind int

const (
	// STTUnknown is the zero value and never sent.
	STTUnknown STTResultKind = iota
	// STTPartial is an interim hypothesis that may still change.
	STTPartial
	// STTFinal is the final transcript of an utterance.
	STTFinal
	// STTError reports a stream failure; Err is set.
	STTError
)

func (k STTResultKind) String() string {
	switch k {
	case STTPartial:
		return "partial"
	case STTFinal:
		return "final"
	case STTError:
		return "error"
	}
	return "unknown"
}

// STTResult is one recognition result.
type STTResult struct {
	Kind       STTResultKind
	Text       string
	Confidence float64
	// AudioDuration is how much audio the result covers.
	AudioDuration time.Duration
	Err           error
}
