package cartesia

import "github.com/parley-voice/parley/pipeline/internal/wstts"

// ProviderName is the Provider of the *pipeline.ProviderError values this
// package returns.
const ProviderName = "cartesia"

// HandshakeError reports a WebSocket upgrade refused with an HTTP status.
type HandshakeError = wstts.HandshakeError

// ServerError is an error message sent on the socket, or a close frame with a
// failure code sent before the final message.
type ServerError = wstts.ServerError

func providerError(status int, retryable bool, err error) error {
	return wstts.ProviderError(ProviderName, status, retryable, err)
}
