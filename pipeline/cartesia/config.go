package cartesia

import (
	"errors"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultURL         = "wss://api.cartesia.ai/tts/websocket"
	DefaultVersion     = "2026-03-01"
	DefaultModel       = "sonic-3"
	DefaultDialTimeout = 10 * time.Second
	DefaultIdleTimeout = 10 * time.Second
)

var (
	// ErrNoAPIKey is returned by New when Config.APIKey is empty.
	ErrNoAPIKey = errors.New("cartesia: no API key configured")
	// ErrNoVoice is returned by Synthesize when neither the request nor the
	// Config names a voice.
	ErrNoVoice = errors.New("cartesia: no voice ID configured")
)

// Config configures a Client.
type Config struct {
	// APIKey is sent as the X-API-Key handshake header. Required.
	APIKey string
	// URL of the WebSocket endpoint; default wss://api.cartesia.ai/tts/websocket.
	URL string
	// Version is the Cartesia-Version header; default 2026-03-01.
	Version string
	// KeyInQuery sends the key and version as the api_key and
	// cartesia_version query parameters instead of headers.
	KeyInQuery bool
	// Model is the model_id, default sonic-3.
	Model string
	// Voice is the voice ID used when TTSRequest.Voice is empty.
	Voice string
	// Language used when TTSRequest.Language is empty, such as "en".
	Language string
	// DialTimeout bounds the WebSocket handshake. Default 10 s.
	DialTimeout time.Duration
	// FirstAudioTimeout, when set, fails a call with a retryable
	// pipeline.ErrFirstByteTimeout when no audio arrived that long after the
	// request was sent. A pipeline.WithFirstTokenDeadline on the context does too.
	FirstAudioTimeout time.Duration
	// IdleTimeout fails a call with a retryable pipeline.ErrStreamCut when the
	// server is silent that long once audio has started. Default 10 s.
	IdleTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.Model == "" {
		c.Model = DefaultModel
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
	if c.DialTimeout < 0 || c.FirstAudioTimeout < 0 || c.IdleTimeout < 0 {
		return errors.New("cartesia: negative timeout")
	}
	return nil
}
