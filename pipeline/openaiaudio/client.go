package openaiaudio

import (
	"log/slog"
	"net/http"

	openai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/pipeline"
)

// Client is an OpenAI-compatible speech provider: a pipeline.TTS through
// CreateSpeech and a pipeline.STT through CreateTranscription. It is safe for
// concurrent use.
type Client struct {
	cfg Config
	api *openai.Client
	log *slog.Logger
}

// New checks cfg and returns a Client. It does not contact the server.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.BaseURL
	if cfg.HTTPClient != nil {
		oc.HTTPClient = cfg.HTTPClient
	} else {
		oc.HTTPClient = &http.Client{}
	}
	return &Client{cfg: cfg, api: openai.NewClientWithConfig(oc), log: cfg.Logger}, nil
}

var (
	_ pipeline.TTS = (*Client)(nil)
	_ pipeline.STT = (*Client)(nil)
)
