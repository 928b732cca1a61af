package deepgram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/pipeline"
)

// narrowRate is the rate audio is sent at when STTConfig.Bandwidth says it
// carries no more than a phone line: sending it upsampled only costs bytes.
const narrowRate = 8000

// STT opens Deepgram live-transcription streams.
type STT struct {
	cfg Config
}

// New checks cfg and returns the provider. It does not connect.
func New(cfg Config) (*STT, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("deepgram: BaseURL: %w", err)
	}
	return &STT{cfg: cfg}, nil
}

// NewStream connects to Deepgram and returns a stream for one call. A refused
// upgrade is returned as a *HandshakeError; ctx bounds only the connection.
func (s *STT) NewStream(ctx context.Context, cfg pipeline.STTConfig, sink func(pipeline.STTResult)) (pipeline.STTStream, error) {
	if cfg.SampleRate <= 0 {
		return nil, fmt.Errorf("deepgram: sample rate %d Hz: %w", cfg.SampleRate, pipeline.ErrUnsupportedRate)
	}
	sendRate := cfg.SampleRate
	if cfg.Bandwidth > 0 && cfg.Bandwidth <= narrowRate/2 && cfg.SampleRate > narrowRate {
		sendRate = narrowRate
	}
	u, err := s.listenURL(cfg, sendRate)
	if err != nil {
		return nil, err
	}
	st, err := newStream(ctx, s.cfg, u, cfg.SampleRate, sendRate, sink)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// listenURL builds the /v1/listen URL for one stream.
func (s *STT) listenURL(cfg pipeline.STTConfig, sendRate int) (string, error) {
	u, err := url.Parse(s.cfg.BaseURL)
	if err != nil {
		return "", fmt.Errorf("deepgram: BaseURL: %w", err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	}
	q := u.Query()
	q.Set("model", s.cfg.Model)
	q.Set("encoding", "linear16")
	q.Set("sample_rate", strconv.Itoa(sendRate))
	q.Set("channels", "1")
	q.Set("interim_results", "true")
	if s.cfg.Endpointing < 0 {
		q.Set("endpointing", "false")
	} else {
		q.Set("endpointing", strconv.FormatInt(s.cfg.Endpointing.Milliseconds(), 10))
	}
	if s.cfg.UtteranceEnd > 0 {
		q.Set("utterance_end_ms", strconv.FormatInt(s.cfg.UtteranceEnd.Milliseconds(), 10))
	}
	if s.cfg.SmartFormat {
		q.Set("smart_format", "true")
	}
	if lang := Language(cfg.Language); lang != "" {
		q.Set("language", lang)
	}
	// Expected phrases become keyterms (nova-3) or keywords (older models).
	param := "keywords"
	if strings.HasPrefix(s.cfg.Model, "nova-3") {
		param = "keyterm"
	}
	for _, p := range cfg.Phrases {
		if p = strings.TrimSpace(p); p != "" {
			q.Add(param, p)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// dial opens the socket. The key goes only into the Authorization header,
// and errors name the host, never the header.
func dial(ctx context.Context, cfg Config, u string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: cfg.DialTimeout, Proxy: http.ProxyFromEnvironment}
	h := http.Header{}
	h.Set("Authorization", "Token "+cfg.APIKey)
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	ws, resp, err := d.DialContext(ctx, u, h)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var body []byte
			if resp.Body != nil {
				body, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
				resp.Body.Close()
			}
			he := &HandshakeError{StatusCode: resp.StatusCode, Status: resp.Status, Body: strings.TrimSpace(string(body))}
			return nil, providerError(resp.StatusCode, he.Temporary(), he)
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, fmt.Errorf("deepgram: connecting: %w", ctx.Err())
		}
		host := u
		if pu, perr := url.Parse(u); perr == nil {
			host = pu.Host
		}
		return nil, providerError(0, true, fmt.Errorf("connecting to %s: %w", host, err))
	}
	return ws, nil
}

var _ pipeline.STT = (*STT)(nil)
