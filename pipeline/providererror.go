package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	// ErrFirstByteTimeout is wrapped by provider errors when no usable output (first
	// token, first audio byte) arrived within the stage's first-byte budget.
	ErrFirstByteTimeout = errors.New("pipeline: no first byte within budget")
	// ErrStreamCut is wrapped by provider errors when a streamed answer ended before
	// the provider said it was complete (connection closed, end marker missing).
	ErrStreamCut = errors.New("pipeline: stream cut before the end of the reply")
)

// ProviderError is a failure of a remote provider, typed so that a fallback chain can
// decide whether the next provider should be tried. It never carries credentials.
type ProviderError struct {
	// Provider names the provider, e.g. "openai".
	Provider string
	// Stage is the pipeline stage: "llm", "stt" or "tts".
	Stage string
	// Status is the HTTP status of the provider's answer, 0 when there was none.
	Status int
	// Retryable reports whether another attempt or another provider may succeed
	// (429, 5xx, timeouts, cut streams); false for bad requests and credentials.
	Retryable bool
	// Err is the underlying error.
	Err error
}

// Error says which provider and stage failed, with the HTTP status when there is one.
func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Stage != "" {
		b.WriteString(" ")
		b.WriteString(e.Stage)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

// Fallback reports whether the next provider in a fallback chain should be tried.
func (e *ProviderError) Fallback() bool { return e.Retryable }

// Fallbacker is implemented by errors that know whether a fallback chain should move
// on to its next provider.
type Fallbacker interface {
	error
	Fallback() bool
}

// ShouldFallback reports whether err should move a stage to its next provider: the
// caller's own cancellation never does; an error implementing Fallbacker decides for
// itself; a missed first-byte budget or a cut stream does; anything else does not.
func ShouldFallback(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if f, ok := errors.AsType[Fallbacker](err); ok {
		return f.Fallback()
	}
	return errors.Is(err, ErrFirstByteTimeout) || errors.Is(err, ErrStreamCut)
}

type firstTokenKey struct{}

// WithFirstTokenDeadline returns a context that asks a reply generator to give up
// with ErrFirstByteTimeout when its first token has not arrived by t. Unlike a context
// deadline it does not limit the rest of the reply once it has started.
func WithFirstTokenDeadline(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, firstTokenKey{}, t)
}

// FirstTokenDeadline returns the deadline set by WithFirstTokenDeadline, if any.
func FirstTokenDeadline(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(firstTokenKey{}).(time.Time)
	return t, ok
}
