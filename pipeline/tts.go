package pipeline

import "context"

// TTS is a text-to-speech provider.
type TTS interface {
	// Synthesize speaks text and streams PCM16 mono audio at sampleRate to sink in
	// chunks of any size, from the calling goroutine, until done, ctx is cancelled
	// (returns ctx.Err()) or synthesis fails. sink returning an error stops synthesis
	// and that error is returned.
	Synthesize(ctx context.Context, req TTSRequest, sink func(pcm []int16) error) error
}

// TTSRequest is one piece of text to speak, usually one sentence.
type TTSRequest struct {
	Text       string
	SampleRate int
	// Voice is provider specific; empty means the provider default.
	Voice    string
	Language string
	// Rate is the speaking speed in words per minute; 0 means the provider default.
	Rate int
}
