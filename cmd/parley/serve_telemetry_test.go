package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/server"
)

// TestServeExportsTraces runs `parley serve --otlp-endpoint` against a fake
// OTLP/HTTP collector, makes a call, stops the server and checks the spans
// of the call were exported (at the latest by the flush at shutdown).
func TestServeExportsTraces(t *testing.T) {
	var mu sync.Mutex
	var body bytes.Buffer
	var paths []string
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		body.Write(b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer col.Close()
	base, stop := startServe(t, "--otlp-endpoint", col.URL, "--trace-sample", "1")
	callID := call(t, base, "demo")
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "POST /v1/traces" {
		t.Fatalf("collector requests %v", paths)
	}
	for _, want := range []string{"call", "turn", "tts.synthesize", "parley.call_id", callID, "parley"} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("exported spans do not mention %q", want)
		}
	}
}

func TestServeTracingFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--trace-sample", "often"},
		{"--trace-sample", "2", "--otlp-endpoint", "http://127.0.0.1:1"},
		{"--otlp-endpoint", "127.0.0.1:4318"},
	} {
		var errOut bytes.Buffer
		if code := run(t.Context(), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), io.Discard, &errOut); code == 0 {
			t.Errorf("serve %v: exit 0", args)
		} else if !strings.Contains(errOut.String(), "trace") && !strings.Contains(errOut.String(), "otlp") {
			t.Errorf("serve %v: %s", args, errOut.String())
		}
	}
}

// TestServeLogsRedactSecrets: the values an agent config takes from the
// environment and a server file's admin token, webhook secret and headers
// never reach serve's log, whatever a bug logs.
func TestServeLogsRedactSecrets(t *testing.T) {
	const apiKey, whsec, admin, hdr = "sk-test-abcdefghijklmnop", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "admin-secret-1", "Bearer header-secret-2"
	env := map[string]string{"TEST_LLM_KEY": apiKey, "TEST_WH_SECRET": whsec, "TEST_ADMIN": admin, "TEST_HDR": hdr}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	agent, err := agents.Parse("a.yaml", []byte("id: a\nstt: {provider: fake}\ntts: {provider: fake}\nllm: {provider: openai, model: m, api_key: \"${TEST_LLM_KEY}\"}\n"), lookup)
	if err != nil {
		t.Fatal(err)
	}
	file, err := server.ParseFile("server.yaml", []byte(`admin: {token: "${TEST_ADMIN}"}
webhooks:
  endpoints:
    - id: crm
      url: https://crm.example.com/hook
      secrets: ["${TEST_WH_SECRET}"]
      headers: {Authorization: "${TEST_HDR}"}
`), lookup)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log, red := redactingLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	red.Add(serveSecrets([]*agents.Config{agent}, file, "auth-token-3")...)
	log.Info("bug: "+apiKey, "err", errors.New("decoding "+strings.TrimPrefix(whsec, "whsec_")), "admin", admin,
		"hdr", hdr, "tok", "auth-token-3", "cfg", agent.LLM, "duration", time.Second)
	out := buf.String()
	for _, s := range []string{apiKey, strings.TrimPrefix(whsec, "whsec_"), admin, "header-secret-2", "auth-token-3"} {
		if strings.Contains(out, s) {
			t.Errorf("%q in the log: %s", s, out)
		}
	}
	if !strings.Contains(out, `"duration":1000000000`) || !strings.Contains(out, "bug: [redacted]") {
		t.Errorf("log %s", out)
	}
}
