// Package wstts holds what the WebSocket TTS providers (ElevenLabs, Cartesia)
// share: their error types and classification, key redaction, the output
// rate choice, the first-audio deadline and the language tag.
package wstts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/pipeline"
)

// ProviderError wraps err as a TTS failure of provider.
func ProviderError(provider string, status int, retryable bool, err error) error {
	return &pipeline.ProviderError{Provider: provider, Stage: "tts", Status: status, Retryable: retryable, Err: err}
}

// HandshakeError reports a WebSocket upgrade refused with an HTTP status.
type HandshakeError struct {
	Provider   string
	StatusCode int
	// Body is the start of the response body, the server's explanation.
	Body string
}

func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%s: websocket upgrade refused: HTTP %d", e.Provider, e.StatusCode)
	}
	return fmt.Sprintf("%s: websocket upgrade refused: HTTP %d: %s", e.Provider, e.StatusCode, e.Body)
}

// Temporary reports whether trying again later may succeed (429 or a 5xx).
func (e *HandshakeError) Temporary() bool { return e.StatusCode == 429 || e.StatusCode >= 500 }

// ServerError is an error message sent on the socket, or a close frame with a
// failure code sent before the final message.
type ServerError struct {
	Provider string
	// Code is the error code: a string such as "quota_exceeded", or the close
	// code ("1008") when the server closed the socket.
	Code    string
	Message string
	// Temporary reports whether trying again may succeed.
	Temporary bool
}

func (e *ServerError) Error() string {
	if e.Message == "" {
		return e.Provider + ": server error " + e.Code
	}
	return fmt.Sprintf("%s: server error %s: %s", e.Provider, e.Code, e.Message)
}

// TemporaryCode reports error codes and texts worth retrying elsewhere: rate
// and concurrency limits, overload and server faults. Bad keys, quota,
// unknown voices and invalid input are not.
func TemporaryCode(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"rate_limit", "rate limit", "too_many", "too many", "concurren", "busy", "overload",
		"unavailable", "internal", "server_error", "timeout", "try again", "429", "500", "502", "503", "504"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// Redact removes the API key from text that came from the server.
func Redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}

// DialError turns a failed handshake into a ProviderError that names the
// host and never the key.
func DialError(ctx context.Context, provider, host, key string, resp *http.Response, err error) error {
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
		}
		he := &HandshakeError{Provider: provider, StatusCode: resp.StatusCode, Body: Redact(strings.TrimSpace(string(body)), key)}
		return ProviderError(provider, resp.StatusCode, he.Temporary(), he)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return ProviderError(provider, 0, true, fmt.Errorf("connecting to %s: %s", host, Redact(err.Error(), key)))
}

// ReadError classifies a failed read before the final message: a close with
// a failure code is a ServerError; a read timeout is a missed first audio
// (nothing started) or a silent server; anything else a cut stream.
func ReadError(provider string, err error, started bool, key string) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseAbnormalClosure, websocket.CloseNoStatusReceived:
			// a cut stream, below
		default:
			se := &ServerError{Provider: provider, Code: fmt.Sprint(ce.Code), Message: Redact(ce.Text, key),
				Temporary: ce.Code == websocket.CloseInternalServerErr || ce.Code == websocket.CloseServiceRestart ||
					ce.Code == websocket.CloseTryAgainLater || TemporaryCode(ce.Text)}
			return ProviderError(provider, 0, se.Temporary, se)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if !started {
			return ProviderError(provider, 0, true, fmt.Errorf("waiting for audio: %w", pipeline.ErrFirstByteTimeout))
		}
		return ProviderError(provider, 0, true, fmt.Errorf("server went silent: %w", pipeline.ErrStreamCut))
	}
	return ProviderError(provider, 0, true, fmt.Errorf("reading audio: %w: %s", pipeline.ErrStreamCut, Redact(err.Error(), key)))
}

// OutputRate returns the rate to ask for when rate is wanted: rate itself
// when rates (ascending) has it, else the nearest higher one, or the highest.
func OutputRate(rates []int, rate int) int {
	for _, r := range rates {
		if r >= rate {
			return r
		}
	}
	return rates[len(rates)-1]
}

// FirstDeadline is when the first audio must have arrived after the request
// was sent: firstAudio after it when set, else idle, and never later than a
// first-token deadline on ctx.
func FirstDeadline(ctx context.Context, sent time.Time, firstAudio, idle time.Duration) time.Time {
	d := sent.Add(idle)
	if firstAudio > 0 {
		d = sent.Add(firstAudio)
	}
	if t, ok := pipeline.FirstTokenDeadline(ctx); ok && t.Before(d) {
		d = t
	}
	return d
}

// BaseLanguage turns "en-US" into "en".
func BaseLanguage(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}
