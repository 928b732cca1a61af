package cartesia

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
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

// Rates are the sample rates Cartesia produces raw PCM at, ascending.
var Rates = []int{8000, 16000, 22050, 24000, 44100, 48000}

// Client is a pipeline.TTS backed by the Cartesia TTS WebSocket. It is safe
// for concurrent use; each Synthesize call has its own socket and context.
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
	if _, err := url.Parse(cfg.URL); err != nil {
		return nil, fmt.Errorf("cartesia: URL: %w", err)
	}
	return &Client{cfg: cfg}, nil
}

// OutputRate returns the rate asked of Cartesia when rate is wanted: rate
// itself when Cartesia has it, else the nearest higher one (the highest for
// rates above all of them).
func OutputRate(rate int) int {
	return wstts.OutputRate(Rates, rate)
}

type generationRequest struct {
	ContextID    string       `json:"context_id"`
	ModelID      string       `json:"model_id"`
	Transcript   string       `json:"transcript"`
	Voice        voice        `json:"voice"`
	OutputFormat outputFormat `json:"output_format"`
	Language     string       `json:"language,omitempty"`
	Continue     bool         `json:"continue"`
}

type voice struct {
	Mode string `json:"mode"`
	ID   string `json:"id"`
}

type outputFormat struct {
	Container  string `json:"container"`
	Encoding   string `json:"encoding"`
	SampleRate int    `json:"sample_rate"`
}

// serverMessage is a chunk, done, error or other (timestamps, flush_done)
// message. Errors carry error and status_code in older API versions, title,
// message and error_code in newer ones.
type serverMessage struct {
	Type       string          `json:"type"`
	ContextID  string          `json:"context_id"`
	Data       string          `json:"data"`
	Done       bool            `json:"done"`
	StatusCode int             `json:"status_code"`
	Error      json.RawMessage `json:"error"`
	Title      string          `json:"title"`
	Message    string          `json:"message"`
	ErrorCode  string          `json:"error_code"`
}

// Synthesize opens a socket, sends one generation request for req.Text and
// streams the PCM of each chunk to sink as it arrives, resampled when
// Cartesia lacks req.SampleRate. The slice passed to sink is reused after sink
// returns. Failures are *pipeline.ProviderError values; a socket closed before
// "done" wraps pipeline.ErrStreamCut, and no audio before the first-audio
// deadline wraps pipeline.ErrFirstByteTimeout, both retryable.
func (c *Client) Synthesize(ctx context.Context, req pipeline.TTSRequest, sink func(pcm []int16) error) error {
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return nil
	}
	if req.SampleRate <= 0 {
		return fmt.Errorf("cartesia: %w: %d Hz", pipeline.ErrUnsupportedRate, req.SampleRate)
	}
	voiceID := req.Voice
	if voiceID == "" {
		voiceID = c.cfg.Voice
	}
	if voiceID == "" {
		return ErrNoVoice
	}
	outRate := OutputRate(req.SampleRate)
	ps, err := pcmstream.New(outRate, req.SampleRate)
	if err != nil {
		return fmt.Errorf("cartesia: %w: %w", pipeline.ErrUnsupportedRate, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ws, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer ws.Close()
	// Cancellation closes the socket, which ends a blocked read or write.
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()

	lang := wstts.BaseLanguage(req.Language)
	if lang == "" {
		lang = wstts.BaseLanguage(c.cfg.Language)
	}
	id := newContextID()
	gr := generationRequest{
		ContextID:    id,
		ModelID:      c.cfg.Model,
		Transcript:   text,
		Voice:        voice{Mode: "id", ID: voiceID},
		OutputFormat: outputFormat{Container: "raw", Encoding: "pcm_s16le", SampleRate: outRate},
		Language:     lang,
	}
	if err := ws.WriteJSON(gr); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return providerError(0, true, fmt.Errorf("sending request: %w: %s", pipeline.ErrStreamCut, wstts.Redact(err.Error(), c.cfg.APIKey)))
	}
	err = c.receive(ctx, ws, id, time.Now(), ps, sink)
	if err == nil {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	return err
}

func (c *Client) receive(ctx context.Context, ws *websocket.Conn, id string, sent time.Time, ps *pcmstream.Stream, sink func([]int16) error) error {
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
		if m.ContextID != "" && m.ContextID != id {
			continue // another context's leftovers
		}
		switch m.Type {
		case "chunk":
			b, err := base64.StdEncoding.DecodeString(m.Data)
			if err != nil {
				return providerError(0, true, fmt.Errorf("decoding audio: %w", err))
			}
			if err := ps.Write(b, sink); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			started = true
			ws.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout))
			if !m.Done {
				continue
			}
		case "error":
			se := messageError(m, key)
			return providerError(se.status, se.Temporary, se.ServerError)
		case "done":
		default: // timestamps, phoneme_timestamps, flush_done
			if !m.Done {
				continue
			}
		}
		break
	}
	return ps.Flush(sink)
}

type statusError struct {
	*ServerError
	status int
}

// messageError reads either error shape.
func messageError(m serverMessage, key string) statusError {
	code := m.ErrorCode
	msg := m.Message
	if len(m.Error) > 0 && string(m.Error) != "null" {
		var s string
		if json.Unmarshal(m.Error, &s) != nil {
			s = string(m.Error)
		}
		if msg == "" {
			msg = s
		} else {
			msg += ": " + s
		}
	}
	if m.Title != "" {
		if msg == "" {
			msg = m.Title
		} else {
			msg = m.Title + ": " + msg
		}
	}
	if code == "" {
		code = "error"
	}
	if m.StatusCode != 0 {
		code = fmt.Sprintf("%s (status %d)", code, m.StatusCode)
	}
	status := m.StatusCode
	if status < 400 {
		status = 0
	}
	temp := status == 429 || status >= 500 || wstts.TemporaryCode(m.ErrorCode+" "+m.Title+" "+msg)
	if status >= 400 && status < 500 && status != 429 {
		temp = false
	}
	return statusError{&ServerError{Provider: ProviderName, Code: wstts.Redact(code, key), Message: wstts.Redact(msg, key), Temporary: temp}, status}
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	u, _ := url.Parse(c.cfg.URL)
	h := http.Header{}
	if c.cfg.KeyInQuery {
		q := u.Query()
		q.Set("api_key", c.cfg.APIKey)
		q.Set("cartesia_version", c.cfg.Version)
		u.RawQuery = q.Encode()
	} else {
		h.Set("X-API-Key", c.cfg.APIKey)
		h.Set("Cartesia-Version", c.cfg.Version)
	}
	d := websocket.Dialer{HandshakeTimeout: c.cfg.DialTimeout, Proxy: http.ProxyFromEnvironment}
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

func newContextID() string {
	var b [12]byte
	rand.Read(b[:])
	return "parley-" + hex.EncodeToString(b[:])
}
