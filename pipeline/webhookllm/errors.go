package webhookllm

import "errors"

var (
	// ErrBadAnswer is wrapped by errors about an answer that is not valid JSON
	// or breaks the documented format (docs/SERVER-DRIVEN.md).
	ErrBadAnswer = errors.New("invalid answer")
	// ErrAnswerTooLarge is wrapped when an answer's body is over the limit.
	ErrAnswerTooLarge = errors.New("answer too large")
)
