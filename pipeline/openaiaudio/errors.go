package openaiaudio

import (
	"context"
	"errors"

	openai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/pipeline"
)

// ProviderName is the Provider of the *pipeline.ProviderError values this
// package returns.
const ProviderName = "openai"

// providerError types a failed request for fallback chains: rate limits, server
// faults, network failures and cut streams are retryable; other HTTP statuses
// (bad request, bad key, unknown model) are not.
func providerError(stage string, err error) error {
	status := statusCode(err)
	retryable := status == 429 || status >= 500 || errors.Is(err, pipeline.ErrStreamCut)
	if status == 0 && !errors.Is(err, context.Canceled) {
		retryable = true // no answer at all: connection refused, reset, timeout
	}
	return &pipeline.ProviderError{Provider: ProviderName, Stage: stage, Status: status, Retryable: retryable, Err: err}
}

// statusCode returns the HTTP status carried by go-openai's *APIError or
// *RequestError, or 0.
func statusCode(err error) int {
	var ae *openai.APIError
	if errors.As(err, &ae) {
		return ae.HTTPStatusCode
	}
	var re *openai.RequestError
	if errors.As(err, &re) {
		return re.HTTPStatusCode
	}
	return 0
}
