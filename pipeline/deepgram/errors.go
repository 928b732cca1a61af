package deepgram

import (
	"errors"
	"fmt"

	"github.com/parley-voice/parley/pipeline"
)

// ProviderName is the Provider of the *pipeline.ProviderError values this
// package returns.
const ProviderName = "deepgram"

// providerError types a failure for fallback chains.
func providerError(status int, retryable bool, err error) error {
	return &pipeline.ProviderError{Provider: ProviderName, Stage: "stt", Status: status, Retryable: retryable, Err: err}
}

var (
	// ErrNoAPIKey is returned by New when Config.APIKey is empty.
	ErrNoAPIKey = errors.New("deepgram: no API key configured")
	// ErrConnectionLost is wrapped (with pipeline.ErrStreamCut, in a retryable
	// *pipeline.ProviderError) by the STTError result sent when the socket drops
	// while the stream is open. The stream reconnects on the next utterance, so
	// a fallback may retry the turn elsewhere or keep going.
	ErrConnectionLost = errors.New("deepgram: connection lost")
)

// HandshakeError reports a WebSocket upgrade that Deepgram refused with an
// HTTP status: 401 for a bad key, 402 for no credit, 429 when rate limited.
// NewStream returns it inside a *pipeline.ProviderError, retryable when Temporary.
type HandshakeError struct {
	StatusCode int
	Status     string
	// Body is the start of the response body, Deepgram's explanation.
	Body string
}

func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("deepgram: websocket upgrade refused: HTTP %s", e.Status)
	}
	return fmt.Sprintf("deepgram: websocket upgrade refused: HTTP %s: %s", e.Status, e.Body)
}

// Temporary reports whether trying again later may succeed (429 or a 5xx).
func (e *HandshakeError) Temporary() bool {
	return e.StatusCode == 429 || e.StatusCode >= 500
}

// ServerError is a {"type":"Error"} message sent by Deepgram on the socket.
type ServerError struct {
	Variant     string
	Description string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("deepgram: server error %s: %s", e.Variant, e.Description)
}
