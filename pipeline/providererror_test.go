package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestShouldFallback(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"caller cancelled", context.Canceled, false},
		{"cancelled inside a retryable provider error", &ProviderError{Retryable: true, Err: context.Canceled}, false},
		{"429", &ProviderError{Provider: "openai", Status: 429, Retryable: true}, true},
		{"401", &ProviderError{Provider: "openai", Status: 401}, false},
		{"wrapped 503", fmt.Errorf("turn 3: %w", &ProviderError{Status: 503, Retryable: true}), true},
		{"first byte timeout", fmt.Errorf("x: %w", ErrFirstByteTimeout), true},
		{"stream cut", ErrStreamCut, true},
		{"non-retryable wins over sentinel", &ProviderError{Err: ErrStreamCut}, false},
		{"unknown error", errors.New("boom"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShouldFallback(tc.err); got != tc.want {
				t.Errorf("ShouldFallback(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestProviderErrorMessage(t *testing.T) {
	err := &ProviderError{Provider: "openai", Stage: "llm", Status: 429, Retryable: true, Err: errors.New("Rate limit reached")}
	if got, want := err.Error(), "openai llm: HTTP 429: Rate limit reached"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	cut := &ProviderError{Provider: "openai", Stage: "llm", Err: ErrStreamCut}
	if !errors.Is(cut, ErrStreamCut) {
		t.Error("ProviderError does not unwrap")
	}
}

func TestFirstTokenDeadline(t *testing.T) {
	if _, ok := FirstTokenDeadline(context.Background()); ok {
		t.Error("deadline found in a bare context")
	}
	at := time.Now().Add(time.Second)
	got, ok := FirstTokenDeadline(WithFirstTokenDeadline(context.Background(), at))
	if !ok || !got.Equal(at) {
		t.Errorf("FirstTokenDeadline = %v, %v", got, ok)
	}
}
