package deepgram

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for Config fields left zero.
const (
	DefaultBaseURL         = "wss://api.deepgram.com/v1/listen"
	DefaultModel           = "nova-3"
	DefaultEndpointing     = 300 * time.Millisecond
	DefaultUtteranceEnd    = time.Second
	DefaultKeepAlive       = 4 * time.Second
	DefaultMaxQueued       = 5 * time.Second
	DefaultDialTimeout     = 10 * time.Second
	DefaultFinalizeTimeout = 3 * time.Second
	DefaultCloseTimeout    = 2 * time.Second
)

// Config configures the provider. Only APIKey is required.
type Config struct {
	// APIKey is sent as "Authorization: Token <key>" and never logged.
	APIKey string
	// BaseURL of the listen endpoint; default wss://api.deepgram.com/v1/listen.
	// Set it for self-hosted Deepgram or tests (ws:// is accepted).
	BaseURL string
	// Model such as "nova-3" or "nova-2-phonecall". Default nova-3.
	Model string
	// Endpointing is the silence that ends speech (speech_final). Default
	// 300 ms; negative disables endpointing.
	Endpointing time.Duration
	// UtteranceEnd is the gap after the last word that makes Deepgram send
	// UtteranceEnd. Default 1 s, the minimum Deepgram accepts; negative disables it.
	UtteranceEnd time.Duration
	// SmartFormat asks for punctuation and formatted numbers.
	SmartFormat bool
	// KeepAlive is how long the socket may go without audio before a
	// KeepAlive message is sent (Deepgram closes after 10 s). Default 4 s.
	KeepAlive time.Duration
	// MaxQueued bounds the audio waiting to be sent; beyond it Write returns
	// pipeline.ErrBackpressure. Default 5 s.
	MaxQueued time.Duration
	// DialTimeout bounds the WebSocket handshake. Default 10 s.
	DialTimeout time.Duration
	// FinalizeTimeout is how long a Finalize waits for Deepgram's answer
	// before the final is emitted from what was already recognised. Default 3 s.
	FinalizeTimeout time.Duration
	// CloseTimeout is how long Close waits for Deepgram to close the socket
	// after CloseStream. Default 2 s.
	CloseTimeout time.Duration
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Model == "" {
		c.Model = DefaultModel
	}
	def(&c.Endpointing, DefaultEndpointing)
	def(&c.UtteranceEnd, DefaultUtteranceEnd)
	def(&c.KeepAlive, DefaultKeepAlive)
	def(&c.MaxQueued, DefaultMaxQueued)
	def(&c.DialTimeout, DefaultDialTimeout)
	def(&c.FinalizeTimeout, DefaultFinalizeTimeout)
	def(&c.CloseTimeout, DefaultCloseTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.APIKey == "" {
		return ErrNoAPIKey
	}
	if c.UtteranceEnd > 0 && c.UtteranceEnd < time.Second {
		return fmt.Errorf("deepgram: UtteranceEnd %v is below Deepgram's minimum of 1s", c.UtteranceEnd)
	}
	for name, d := range map[string]time.Duration{"KeepAlive": c.KeepAlive, "MaxQueued": c.MaxQueued,
		"DialTimeout": c.DialTimeout, "FinalizeTimeout": c.FinalizeTimeout, "CloseTimeout": c.CloseTimeout} {
		if d < 0 {
			return fmt.Errorf("deepgram: %s %v is negative", name, d)
		}
	}
	return nil
}
