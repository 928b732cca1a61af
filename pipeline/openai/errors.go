package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/pipeline"
)

const (
	providerName = "openai"
	stageName    = "llm"
)

// upstreamError carries the provider's own message in a short form while keeping the
// go-openai error reachable through errors.As.
type upstreamError struct {
	msg string
	err error
}

func (e *upstreamError) Error() string { return e.msg }
func (e *upstreamError) Unwrap() error { return e.err }

// statusOf returns the HTTP status and the provider's message of a go-openai error.
func statusOf(err error) (status int, msg string, ok bool) {
	if ae, ok := errors.AsType[*goopenai.APIError](err); ok {
		msg = ae.Message
		if ae.Type != "" || ae.Code != nil {
			var tags []string
			if ae.Type != "" {
				tags = append(tags, ae.Type)
			}
			if ae.Code != nil {
				tags = append(tags, fmt.Sprint(ae.Code))
			}
			msg += " (" + strings.Join(tags, ", ") + ")"
		}
		return ae.HTTPStatusCode, msg, true
	}
	if re, ok := errors.AsType[*goopenai.RequestError](err); ok {
		body := strings.TrimSpace(string(re.Body))
		if len(body) > 200 {
			body = body[:200] + "…"
		}
		return re.HTTPStatusCode, body, true
	}
	return 0, "", false
}

// retryableStatus reports whether another provider or a later try may succeed.
func retryableStatus(status int) bool {
	return status == 408 || status == 409 || status == 429 || status >= 500
}

// rejectsStreamOptions reports whether err is a 400 complaining about stream_options,
// as some OpenAI-compatible servers answer.
func rejectsStreamOptions(err error) bool {
	status, msg, ok := statusOf(err)
	return ok && status == 400 && strings.Contains(strings.ToLower(msg), "stream_options")
}

// classify turns an error of the request or the stream into a *pipeline.ProviderError.
// started reports whether the response had begun (headers received).
func (l *LLM) classify(err error, started bool) error {
	pe := &pipeline.ProviderError{Provider: providerName, Stage: stageName}
	if status, msg, ok := statusOf(err); ok {
		pe.Status = status
		if status == 0 {
			// An error event inside a 200 stream: the provider failed mid-reply.
			pe.Retryable = true
			pe.Err = &upstreamError{msg: "error event in stream: " + msg, err: err}
		} else {
			pe.Retryable = retryableStatus(status)
			pe.Err = &upstreamError{msg: msg, err: err}
		}
		return l.redact(pe)
	}
	switch {
	case errors.Is(err, goopenai.ErrTooManyEmptyStreamMessages):
		pe.Retryable = true
		pe.Err = fmt.Errorf("reading stream: %w", err)
	case started:
		// The connection failed or the body was cut while the reply streamed.
		pe.Retryable = true
		pe.Err = fmt.Errorf("%w: %w", pipeline.ErrStreamCut, err)
	case isRequestValidation(err):
		pe.Err = fmt.Errorf("building request: %w", err)
	default:
		// Connection refused, DNS, TLS: another provider may well be reachable.
		pe.Retryable = true
		pe.Err = fmt.Errorf("sending request: %w", err)
	}
	return l.redact(pe)
}

// isRequestValidation reports errors go-openai raises before sending anything.
func isRequestValidation(err error) bool {
	for _, e := range []error{
		goopenai.ErrChatCompletionInvalidModel,
		goopenai.ErrReasoningModelMaxTokensDeprecated,
		goopenai.ErrReasoningModelLimitationsLogprobs,
		goopenai.ErrReasoningModelLimitationsOther,
		goopenai.ErrReasoningEffortUnsupported,
		goopenai.ErrReasoningToolsRequireResponses,
		goopenai.ErrReasoningSamplingUnsupported,
		goopenai.ErrContentFieldsMisused,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// cutError is returned when the body ended without [DONE] and without a finish reason.
func (l *LLM) cutError() error {
	return &pipeline.ProviderError{Provider: providerName, Stage: stageName, Retryable: true,
		Err: fmt.Errorf("%w: connection closed without [DONE] or finish_reason: %w", pipeline.ErrStreamCut, io.ErrUnexpectedEOF)}
}

// firstTokenError reports a missed first-token deadline; cause is the context error
// when the caller's own deadline expired.
func firstTokenError(after string, cause error) error {
	err := fmt.Errorf("%w: no token within %s", pipeline.ErrFirstByteTimeout, after)
	if cause != nil {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return &pipeline.ProviderError{Provider: providerName, Stage: stageName, Retryable: true, Err: err}
}

// redact removes the API key from the error text, should a server or a transport
// ever echo it, keeping sentinel errors reachable.
func (l *LLM) redact(pe *pipeline.ProviderError) error {
	key := l.cfg.APIKey
	if key == "" || pe.Err == nil || !strings.Contains(pe.Err.Error(), key) {
		return pe
	}
	msg := strings.ReplaceAll(pe.Err.Error(), key, "[redacted]")
	var sentinels []error
	for _, s := range []error{pipeline.ErrStreamCut, pipeline.ErrFirstByteTimeout, context.DeadlineExceeded} {
		if errors.Is(pe.Err, s) {
			sentinels = append(sentinels, s)
		}
	}
	pe.Err = &redactedError{msg: msg, is: sentinels}
	return pe
}

// redactedError is an error whose text had the API key removed. It drops the wrapped
// chain (whose text holds the key) but still matches the sentinels it wrapped.
type redactedError struct {
	msg string
	is  []error
}

func (e *redactedError) Error() string   { return e.msg }
func (e *redactedError) Unwrap() []error { return e.is }
