package webrtc

import "errors"

// Sentinel errors; HTTP answers carry their text with a status and a code.
var (
	// ErrOfferTooLarge: the SDP offer is larger than Handler.MaxOfferBytes.
	ErrOfferTooLarge = errors.New("SDP offer too large")
	// ErrBadOffer: the body is not a usable SDP offer (unparsable, or no audio).
	ErrBadOffer = errors.New("invalid SDP offer")
	// ErrTokenInvalid: a call token is malformed or its signature does not match.
	ErrTokenInvalid = errors.New("invalid call token")
	// ErrTokenExpired: a call token was valid but its lifetime is over.
	ErrTokenExpired = errors.New("call token expired")
	// ErrTokenAgent: a call token was minted for another agent.
	ErrTokenAgent = errors.New("call token is for another agent")
	// ErrBadMessage: a data channel message from the page is not understood.
	ErrBadMessage = errors.New("invalid data channel message")
	// ErrClosed: the connection was closed (the call ended).
	ErrClosed = errors.New("webrtc connection closed")
)
