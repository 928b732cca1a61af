package elevenlabs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/internal/pcmstream"
	"github.com/parley-voice/parley/pipeline/internal/wstts"
)

// Rates are the sample rates of the pcm_* output formats, ascending.
var Rates = []int{8000, 16000, 22050, 24000, 44100}

// Client is a pipeline.TTS backed by the ElevenLabs stream-input WebSocket.
// It is safe for concurrent use; each Synthesize call has its own socket.
type Client struct {
	cfg Config
}

var _ pipeline.TTS = (*Client)(nil)

// New checks cfg and returns a Client. It does not contact the server.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("elevenlabs: BaseURL: %w", err)
	}
	return &Client{cfg: cfg}, nil
}

// OutputRate returns the rate of the pcm_* format asked for when rate is
// wanted: rate itself when ElevenLabs has it, else the nearest higher one (the
// highest for rates above all of them).
func OutputRate(rate int) int {
	return wstts.OutputRate(Rates, rate)
}

type initMessage struct {
	Text             string            `json:"text"`
	VoiceSettings    *VoiceSettings    `json:"voice_settings,omitempty"`
	GenerationConfig *generationConfig `json:"generation_config,omitempty"`
}

type generationConfig struct {
	ChunkLengthSchedule []int `json:"chunk_length_schedule"`
}

type textMessage struct {
	Text                 string `json:"text"`
	TryTriggerGeneration bool   `json:"try_trigger_generation,omitempty"`
}

// serverMessage is an audio, final or error message.
type serverMessage struct {
	Audio   *string         `json:"audio"`
	IsFinal *bool           `json:"isFinal"`
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Code    json.RawMessage `json:"code"`
}

// Synthesize opens a socket, sends req.Text and streams the PCM audio to sink
// as each message arrives, resampled when req.SampleRate has no pcm_* format.
// The slice passed to sink is reused after sink returns. Failures are
// *pipeline.ProviderError values; a socket closed before isFinal wraps
// pipeline.ErrStreamCut, and no audio before the first-audio deadline wraps
// pipeline.ErrFirstByteTimeout, both retryable.
func (c *Client) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func(pcm []int16) error) error {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return nil
	}
	if req.SampleRate <= 0 {
		return fmt.Errorf("elevenlabs: %w: %d Hz", pipeline.ErrUnsupportedRate, req.SampleRate)
	}
	outRate := OutputRate(req.SampleRate)
	ps, err := pcmstream.New(outRate, req.SampleRate)
	if err != nil {
		return fmt.Errorf("elevenlabs: %w: %w", pipeline.ErrUnsupportedRate, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ws, err := c.dial(ctx, req, outRate)
	if err != nil {
		return err
	}
	defer ws.Close()
	// Cancellation closes the socket, which ends a blocked read or write.
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()

	settings := c.cfg.VoiceSettings
	if req.Rate > 0 {
		s := min(max(float64(req.Rate)/wpmAtSpeed1, 0.7), 1.2)
		settings.Speed = &s
	}
	open := initMessage{Text: " ", VoiceSettings: &settings}
	if c.cfg.ChunkLengthSchedule != nil {
		open.GenerationConfig = &generationConfig{ChunkLengthSchedule: c.cfg.ChunkLengthSchedule}
	}
	for _, m := range []any{open, textMessage{Text: text + " ", TryTriggerGeneration: true}, textMessage{Text: ""}} {
		if err := ws.WriteJSON(m); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return providerError(0, true, fmt.Errorf("sending text: %w: %s", pipeline.ErrStreamCut, wstts.Redact(err.Error(), c.cfg.APIKey)))
		}
	}
	sent := time.Now()
	err = c.receive(ctx, ws, sent, ps, sink)
	if err == nil {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	return err
}

func (c *Client) receive(ctx context.Context, ws *websocket.Conn, sent time.Time, ps *pcmstream.Stream, sink func([]int16) error) error {
	key := c.cfg.APIKey
	started := false
	ws.SetReadDeadline(wstts.FirstDeadline(ctx, sent, c.cfg.FirstAudioTimeout, c.cfg.IdleTimeout))
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return wstts.ReadError(ProviderName, err, started, key)
		}
		if typ != websocket.TextMessage {
			continue
		}
		var m serverMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return providerError(0, true, fmt.Errorf("decoding message: %w", err))
		}
		if se := messageError(m, key); se != nil {
			return providerError(0, se.Temporary, se)
		}
		if m.Audio != nil && *m.Audio != "" {
			b, err := base64.StdEncoding.DecodeString(*m.Audio)
			if err != nil {
				return providerError(0, true, fmt.Errorf("decoding audio: %w", err))
			}
			if err := ps.Write(b, sink); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !started {
				started = true
			}
			ws.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout))
		}
		if m.IsFinal != nil && *m.IsFinal {
			break
		}
	}
	return ps.Flush(sink)
}

// messageError returns the error a message reports, or nil for audio and
// final messages.
func messageError(m serverMessage, key string) *ServerError {
	if len(m.Error) == 0 || string(m.Error) == "null" {
		if m.Audio == nil && m.IsFinal == nil && m.Message != "" {
			return &ServerError{Provider: ProviderName, Code: "unknown", Message: wstts.Redact(m.Message, key), Temporary: wstts.TemporaryCode(m.Message)}
		}
		return nil
	}
	code := strings.Trim(string(m.Error), `"`)
	var s string
	if json.Unmarshal(m.Error, &s) == nil {
		code = s
	}
	if len(m.Code) > 0 && string(m.Code) != "null" {
		code += " (" + strings.Trim(string(m.Code), `"`) + ")"
	}
	return &ServerError{Provider: ProviderName, Code: wstts.Redact(code, key), Message: wstts.Redact(m.Message, key), Temporary: wstts.TemporaryCode(code + " " + m.Message)}
}

func (c *Client) dial(ctx context.Context, req pipeline.TTSRequest, outRate int) (*websocket.Conn, error) {
	voice := req.Voice
	if voice == "" {
		voice = c.cfg.Voice
	}
	u, _ := url.Parse(strings.TrimRight(c.cfg.BaseURL, "/") + "/text-to-speech/" + url.PathEscape(voice) + "/stream-input")
	q := u.Query()
	q.Set("model_id", c.cfg.Model)
	q.Set("output_format", fmt.Sprintf("pcm_%d", outRate))
	// Only the v2.5 models enforce a language; others reject language_code.
	if lang := wstts.BaseLanguage(req.Language); lang != "" && strings.Contains(c.cfg.Model, "v2_5") {
		q.Set("language_code", lang)
	}
	u.RawQuery = q.Encode()

	d := websocket.Dialer{HandshakeTimeout: c.cfg.DialTimeout, Proxy: http.ProxyFromEnvironment}
	h := http.Header{}
	h.Set("xi-api-key", c.cfg.APIKey)
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	ws, resp, err := d.DialContext(dctx, u.String(), h)
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, wstts.DialError(ctx, ProviderName, u.Host, c.cfg.APIKey, resp, err)
	}
	return ws, nil
}
