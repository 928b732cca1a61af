package openaiaudio

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// fakeServer is an OpenAI-compatible audio API: the test sets the handlers
// for /v1/audio/speech and /v1/audio/transcriptions.
type fakeServer struct {
	srv                   *httptest.Server
	speech, transcription http.HandlerFunc
}

func newFakeServer(t *testing.T, speech, transcription http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{speech: speech, transcription: transcription}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/audio/speech", func(w http.ResponseWriter, r *http.Request) { f.speech(w, r) })
	mux.HandleFunc("POST /v1/audio/transcriptions", func(w http.ResponseWriter, r *http.Request) { f.transcription(w, r) })
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

const testKey = "sk-test-secret-456"

func (f *fakeServer) client(t *testing.T, cfg Config) *Client {
	t.Helper()
	cfg.APIKey = testKey
	cfg.BaseURL = f.srv.URL + "/v1"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openAIError writes an error body in OpenAI's format.
func openAIError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":{"message":"` + msg + `","type":"requests","param":null,"code":"` + code + `"}}`))
}

type collector chan pipeline.STTResult

func newCollector() collector { return make(collector, 64) }

func (c collector) sink(r pipeline.STTResult) { c <- r }

func (c collector) next(t *testing.T) pipeline.STTResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no result")
		return pipeline.STTResult{}
	}
}

func (c collector) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case r := <-c:
		t.Fatalf("unexpected result %v %q (err %v)", r.Kind, r.Text, r.Err)
	case <-time.After(d):
	}
}
