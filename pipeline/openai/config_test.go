package openai

import (
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	hot, cold := float32(2.5), float32(0)
	cases := []struct {
		name string
		cfg  Config
		want string // "" means valid
	}{
		{"openai default base", Config{Model: "gpt-4o-mini", APIKey: testKey}, ""},
		{"ollama without key", Config{Model: "llama3.2", BaseURL: "http://localhost:11434/v1"}, ""},
		{"zero temperature", Config{Model: "m", Temperature: &cold}, ""},
		{"no model", Config{BaseURL: "http://localhost:11434/v1", APIKey: testKey}, "model is required"},
		{"ftp", Config{Model: "m", BaseURL: "ftp://host/v1"}, "scheme must be http or https"},
		{"no host", Config{Model: "m", BaseURL: "http:///v1"}, "host is missing"},
		{"relative", Config{Model: "m", BaseURL: "localhost:11434/v1"}, "base_url"},
		{"query", Config{Model: "m", BaseURL: "https://host/v1?key=" + testKey}, "query"},
		{"key in userinfo", Config{Model: "m", BaseURL: "ftp://u:" + testKey + "@host/v1"}, "scheme"},
		{"temperature", Config{Model: "m", Temperature: &hot}, "temperature"},
		{"max tokens", Config{Model: "m", MaxTokens: -1}, "max_tokens"},
		{"timeout", Config{Model: "m", FirstTokenTimeout: -time.Second}, "first token timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := New(tc.cfg)
			if tc.want == "" {
				if err != nil || l == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("error reveals the API key: %v", err)
			}
		})
	}
}

func TestRequestParameters(t *testing.T) {
	cold := float32(0)
	l, err := New(Config{Model: "o3-mini", Temperature: &cold, MaxTokens: 99})
	if err != nil {
		t.Fatal(err)
	}
	r := l.request(userRequest("hi"))
	if r.Temperature <= 0 || r.Temperature > 1e-30 {
		t.Errorf("temperature 0 sent as %g; go-openai would drop an exact zero", r.Temperature)
	}
	if r.MaxCompletionTokens != 99 || r.MaxTokens != 0 {
		t.Errorf("reasoning model: max_tokens %d, max_completion_tokens %d", r.MaxTokens, r.MaxCompletionTokens)
	}
}
