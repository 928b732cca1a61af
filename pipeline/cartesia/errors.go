package cartesia

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/pipeline"
)

// ProviderName is the Provider of the *pipeline.ProviderError values this
// package returns.
const ProviderName = "cartesia"

func providerError(status int, retryable bool, err error) error {
	return &pipeline.ProviderError{Provider: ProviderName, Stage: "tts", Status: status, Retryable: retryable, Err: err}
}

// HandshakeError reports a WebSocket upgrade refused with an HTTP status.
type HandshakeError struct {
	StatusCode int
	// Body is the start of the response body, the server's explanation.
	Body string
}

func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("cartesia: websocket upgrade refused: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("cartesia: websocket upgrade refused: HTTP %d: %s", e.StatusCode, e.Body)
}

// Temporary reports whether trying again later may succeed (429 or a 5xx).
func (e *HandshakeError) Temporary() bool { return e.StatusCode == 429 || e.StatusCode >= 500 }

// ServerError is an error message sent on the socket, or a close frame with a
// failure code sent before the final message.
type ServerError struct {
	// Code is the error code: a string such as "quota_exceeded", or the close
	// code ("1008") when the server closed the socket.
	Code    string
	Message string
	// Temporary reports whether trying again may succeed.
	Temporary bool
}

func (e *ServerError) Error() string {
	if e.Message == "" {
		return "cartesia: server error " + e.Code
	}
	return fmt.Sprintf("cartesia: server error %s: %s", e.Code, e.Message)
}

// temporaryCode reports error codes and texts worth retrying elsewhere: rate
// and concurrency limits, overload and server faults. Bad keys, quota,
// unknown voices and invalid input are not.
func temporaryCode(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"rate_limit", "rate limit", "too_many", "too many", "concurren", "busy", "overload",
		"unavailable", "internal", "server_error", "timeout", "try again", "429", "500", "502", "503", "504"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// redact removes the API key from text that came from the server.
func redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}

// dialError turns a failed handshake into a ProviderError that names the
// host and never the key.
func dialError(ctx context.Context, host, key string, resp *http.Response, err error) error {
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		var body []byte
		if resp.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
		}
		he := &HandshakeError{StatusCode: resp.StatusCode, Body: redact(strings.TrimSpace(string(body)), key)}
		return providerError(resp.StatusCode, he.Temporary(), he)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return providerError(0, true, fmt.Errorf("connecting to %s: %s", host, redact(err.Error(), key)))
}

// readError classifies a failed read before the final message.
func readError(err error, started bool, key string) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseAbnormalClosure, websocket.CloseNoStatusReceived:
			// fall through to a cut stream
		default:
			se := &ServerError{Code: fmt.Sprint(ce.Code), Message: redact(ce.Text, key),
				Temporary: ce.Code == websocket.CloseInternalServerErr || ce.Code == websocket.CloseServiceRestart ||
					ce.Code == websocket.CloseTryAgainLater || temporaryCode(ce.Text)}
			return providerError(0, se.Temporary, se)
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		if !started {
			return providerError(0, true, fmt.Errorf("waiting for audio: %w", pipeline.ErrFirstByteTimeout))
		}
		return providerError(0, true, fmt.Errorf("server went silent: %w", pipeline.ErrStreamCut))
	}
	return providerError(0, true, fmt.Errorf("reading audio: %w: %s", pipeline.ErrStreamCut, redact(err.Error(), key)))
}
