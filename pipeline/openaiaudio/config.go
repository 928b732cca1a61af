package openaiaudio

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultBaseURL            = "https://api.openai.com/v1"
	DefaultSpeechModel        = "tts-1"
	DefaultVoice              = "alloy"
	DefaultTranscriptionModel = "whisper-1"
	DefaultMaxUtterance       = 30 * time.Second
)

// SpeechRate is the sample rate of the "pcm" response format: 24 kHz mono
// 16-bit little-endian.
const SpeechRate = 24000

// minUtterance is the shortest audio worth uploading; OpenAI rejects audio
// under 0.1 s.
const minUtterance = 100 * time.Millisecond

// Config configures a Client. The zero value talks to api.openai.com with no key.
type Config struct {
	// APIKey is sent as a bearer token; empty for local servers without auth.
	APIKey string
	// BaseURL of the OpenAI-compatible API, ending in /v1 (Ollama
	// http://host:11434/v1, a vLLM or whisper.cpp server…).
	BaseURL string
	// HTTPClient overrides the client used for requests; nil means a plain one.
	// Requests are bounded by their contexts, not by a client timeout, so a
	// long speech body is not cut off.
	HTTPClient *http.Client

	// SpeechModel for CreateSpeech, such as tts-1 or gpt-4o-mini-tts. Default tts-1.
	SpeechModel string
	// Voice used when TTSRequest.Voice is empty. Default alloy.
	Voice string
	// Speed of speech from 0.25 to 4; 0 means the server default (1), and
	// TTSRequest.Rate, when set, overrides it (175 words per minute is 1).
	Speed float64
	// Instructions steer gpt-4o-mini-tts voices; other models ignore them.
	Instructions string

	// TranscriptionModel for CreateTranscription. Default whisper-1.
	TranscriptionModel string
	// Prompt is sent with every transcription (vocabulary, spelling hints);
	// STTConfig.Phrases are appended to it.
	Prompt string
	// MaxUtterance bounds the audio a transcription stream buffers; beyond it
	// Write returns pipeline.ErrBackpressure. Default 30 s.
	MaxUtterance time.Duration

	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.SpeechModel == "" {
		c.SpeechModel = DefaultSpeechModel
	}
	if c.Voice == "" {
		c.Voice = DefaultVoice
	}
	if c.TranscriptionModel == "" {
		c.TranscriptionModel = DefaultTranscriptionModel
	}
	if c.MaxUtterance == 0 {
		c.MaxUtterance = DefaultMaxUtterance
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.Speed != 0 && (c.Speed < 0.25 || c.Speed > 4) {
		return fmt.Errorf("openaiaudio: Speed %v outside [0.25, 4]", c.Speed)
	}
	if c.MaxUtterance < minUtterance {
		return fmt.Errorf("openaiaudio: MaxUtterance %v is below %v", c.MaxUtterance, minUtterance)
	}
	return nil
}
