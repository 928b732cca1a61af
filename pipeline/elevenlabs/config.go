package elevenlabs

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultBaseURL     = "wss://api.elevenlabs.io/v1"
	DefaultModel       = "eleven_flash_v2_5"
	DefaultVoice       = "21m00Tcm4TlvDq8ikWAM" // "Rachel", a premade voice
	DefaultDialTimeout = 10 * time.Second
	DefaultIdleTimeout = 10 * time.Second
)

// wpmAtSpeed1 converts TTSRequest.Rate (words per minute) to a speed factor.
const wpmAtSpeed1 = 175

// ErrNoAPIKey is returned by New when Config.APIKey is empty.
var ErrNoAPIKey = errors.New("elevenlabs: no API key configured")

// VoiceSettings are sent in the first message of every socket. Nil pointers
// leave a setting at the voice's stored value.
type VoiceSettings struct {
	Stability       *float64 `json:"stability,omitempty"`
	SimilarityBoost *float64 `json:"similarity_boost,omitempty"`
	Style           *float64 `json:"style,omitempty"`
	UseSpeakerBoost *bool    `json:"use_speaker_boost,omitempty"`
	// Speed from 0.7 to 1.2; TTSRequest.Rate, when set, overrides it.
	Speed *float64 `json:"speed,omitempty"`
}

// Config configures a Client.
type Config struct {
	// APIKey is sent as the xi-api-key handshake header. Required.
	APIKey string
	// BaseURL is the WebSocket API root; default wss://api.elevenlabs.io/v1.
	BaseURL string
	// Model is the model_id, default eleven_flash_v2_5.
	Model string
	// Voice is the voice ID used when TTSRequest.Voice is empty.
	Voice string
	// VoiceSettings go into the opening message.
	VoiceSettings VoiceSettings
	// ChunkLengthSchedule overrides generation_config.chunk_length_schedule
	// (characters buffered before each generation); nil keeps the server's.
	ChunkLengthSchedule []int
	// DialTimeout bounds the WebSocket handshake. Default 10 s.
	DialTimeout time.Duration
	// FirstAudioTimeout, when set, fails a call with a retryable
	// pipeline.ErrFirstByteTimeout when no audio arrived that long after the
	// text was sent. A pipeline.WithFirstTokenDeadline on the context does too.
	FirstAudioTimeout time.Duration
	// IdleTimeout fails a call with a retryable pipeline.ErrStreamCut when the
	// server is silent that long once audio has started. Default 10 s.
	IdleTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.Voice == "" {
		c.Voice = DefaultVoice
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

func (c Config) validate() error {
	if c.APIKey == "" {
		return ErrNoAPIKey
	}
	if s := c.VoiceSettings.Speed; s != nil && (*s < 0.7 || *s > 1.2) {
		return fmt.Errorf("elevenlabs: VoiceSettings.Speed %v outside [0.7, 1.2]", *s)
	}
	if c.DialTimeout < 0 || c.FirstAudioTimeout < 0 || c.IdleTimeout < 0 {
		return errors.New("elevenlabs: negative timeout")
	}
	return nil
}
