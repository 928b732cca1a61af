// Package openai generates replies with any OpenAI-compatible chat completions API
// (OpenAI, Azure OpenAI through a compatible gateway, Groq, Together, Ollama, vLLM,
// llama.cpp server), streamed through github.com/sashabaranov/go-openai.
package openai

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// DefaultBaseURL is the API root used when Config.BaseURL is empty.
const DefaultBaseURL = "https://api.openai.com/v1"

// Config configures an LLM. APIKey may be empty for local servers that do not check
// it (Ollama, llama.cpp server); it is never included in errors.
type Config struct {
	// BaseURL is the API root, path prefix included, e.g. http://localhost:11434/v1.
	// Default DefaultBaseURL.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <key>" when not empty.
	APIKey string
	// Organization is sent as the OpenAI-Organization header when not empty.
	Organization string
	// Model is the model name; required.
	Model string
	// Temperature is the sampling temperature, 0 to 2; nil leaves the provider default.
	Temperature *float32
	// MaxTokens bounds the reply length; 0 leaves the provider default.
	MaxTokens int
	// FirstTokenTimeout is how long to wait for the first token of a reply before
	// failing with pipeline.ErrFirstByteTimeout; 0 means no limit of its own.
	FirstTokenTimeout time.Duration
	// HTTPClient sends the requests; nil means a client without a total timeout
	// (streams are bounded by the caller's context and FirstTokenTimeout instead).
	HTTPClient *http.Client
}

// Validate checks the config without revealing the API key in its errors.
func (c *Config) Validate() error {
	var errs []error
	if c.Model == "" {
		errs = append(errs, errors.New("model is required"))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil:
			errs = append(errs, errors.New("base_url is not a valid URL"))
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("base_url %s: scheme must be http or https", safeURL(u)))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("base_url %s: host is missing", safeURL(u)))
		case u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("base_url %s: must not have a query or fragment", safeURL(u)))
		}
	}
	if c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2) {
		errs = append(errs, fmt.Errorf("temperature %g: must be between 0 and 2", *c.Temperature))
	}
	if c.MaxTokens < 0 {
		errs = append(errs, fmt.Errorf("max_tokens %d: must not be negative", c.MaxTokens))
	}
	if c.FirstTokenTimeout < 0 {
		errs = append(errs, fmt.Errorf("first token timeout %s: must not be negative", c.FirstTokenTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("openai llm config: %w", err)
	}
	return nil
}

// safeURL shows a base URL in errors without its user info, query or fragment, where
// a key might hide.
func safeURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
