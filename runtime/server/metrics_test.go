package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline/fake"
	"github.com/parley-voice/parley/runtime/server"
)

func TestMountMetricsWantsTheToken(t *testing.T) {
	exposition := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "parley_up 1\n") })
	for _, tc := range []struct {
		token, auth string
		want        int
	}{
		{"", "", http.StatusOK}, // no admin token: open
		{"", "Bearer anything", http.StatusOK},
		{"s3cret", "", http.StatusUnauthorized},
		{"s3cret", "Bearer wrong", http.StatusUnauthorized},
		{"s3cret", "Basic czNjcmV0", http.StatusUnauthorized},
		{"s3cret", "Bearer s3cret", http.StatusOK},
		{"s3cret", "bearer  s3cret ", http.StatusOK},
	} {
		srv, err := server.New(server.Config{Agents: []*agents.Config{parseAgent(t, testAgent)},
			Providers: &server.Providers{FakeSTT: &fake.STT{}, FakeTTS: &fake.TTS{}, FakeLLM: &fake.LLM{}}})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown(context.Background())
		srv.MountMetrics(exposition, tc.token)
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("token %q, Authorization %q: %d, want %d", tc.token, tc.auth, rec.Code, tc.want)
		}
		if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("token %q, Authorization %q: 401 without a challenge", tc.token, tc.auth)
		}
		if rec.Code == http.StatusOK && rec.Body.String() != "parley_up 1\n" {
			t.Errorf("body %q", rec.Body.String())
		}
		// Only GET.
		rec = httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST /metrics: %d", rec.Code)
		}
	}
}
