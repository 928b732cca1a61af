package deepgram

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/pipeline"
)

// fakeDeepgram speaks the /v1/listen wire format: it upgrades (or refuses
// with refuseStatus), records the handshake and hands each connection to the test.
type fakeDeepgram struct {
	srv          *httptest.Server
	refuseStatus atomic.Int32
	refuseBody   string

	mu      sync.Mutex
	auth    []string
	queries []url.Values

	conns chan *serverConn
}

// serverConn is one accepted socket; binary frames land in audio, text frames in text.
type serverConn struct {
	ws    *websocket.Conn
	audio chan []byte
	text  chan string
	ended chan struct{}
}

func newFake(t *testing.T) *fakeDeepgram {
	t.Helper()
	f := &fakeDeepgram{conns: make(chan *serverConn, 8)}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.queries = append(f.queries, r.URL.Query())
		f.mu.Unlock()
		if r.URL.Path != "/v1/listen" {
			http.NotFound(w, r)
			return
		}
		if st := f.refuseStatus.Load(); st != 0 {
			http.Error(w, f.refuseBody, int(st))
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		sc := &serverConn{ws: ws, audio: make(chan []byte, 1024), text: make(chan string, 1024), ended: make(chan struct{})}
		f.conns <- sc
		defer close(sc.ended)
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if typ == websocket.BinaryMessage {
				sc.audio <- data
			} else {
				sc.text <- string(data)
			}
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDeepgram) url() string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/v1/listen"
}

func (f *fakeDeepgram) accept(t *testing.T) *serverConn {
	t.Helper()
	select {
	case sc := <-f.conns:
		t.Cleanup(func() { sc.ws.Close() })
		return sc
	case <-time.After(3 * time.Second):
		t.Fatal("no connection reached the fake Deepgram")
		return nil
	}
}

// send writes one server message.
func (sc *serverConn) send(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("fake server write: %v", err)
	}
}

// expectText waits for the next text frame and checks its type.
func (sc *serverConn) expectText(t *testing.T, typ string) {
	t.Helper()
	select {
	case s := <-sc.text:
		var m struct{ Type string }
		if err := json.Unmarshal([]byte(s), &m); err != nil || m.Type != typ {
			t.Fatalf("server got text %q, want type %q", s, typ)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("server got no %s message", typ)
	}
}

// audioBytes waits until n bytes of audio arrived and returns them.
func (sc *serverConn) audioBytes(t *testing.T, n int) []byte {
	t.Helper()
	var got []byte
	deadline := time.After(3 * time.Second)
	for len(got) < n {
		select {
		case b := <-sc.audio:
			got = append(got, b...)
		case <-deadline:
			t.Fatalf("server got %d audio bytes, want %d", len(got), n)
		}
	}
	return got
}

// results builds a Results message as Deepgram sends it.
func results(text string, conf float64, isFinal, speechFinal, fromFinalize bool, start, dur float64) map[string]any {
	return map[string]any{
		"type": "Results", "channel_index": []int{0, 1}, "start": start, "duration": dur,
		"is_final": isFinal, "speech_final": speechFinal, "from_finalize": fromFinalize,
		"channel": map[string]any{"alternatives": []any{map[string]any{
			"transcript": text, "confidence": conf, "words": []any{},
		}}},
		"metadata": map[string]any{"request_id": "req-1", "model_info": map[string]any{"name": "general-nova-3"}},
	}
}

func utteranceEnd(lastWordEnd float64) map[string]any {
	return map[string]any{"type": "UtteranceEnd", "channel": []int{0, 1}, "last_word_end": lastWordEnd}
}

// collector gathers sink results.
type collector chan pipeline.STTResult

func newCollector() collector { return make(collector, 256) }

func (c collector) sink(r pipeline.STTResult) { c <- r }

func (c collector) next(t *testing.T) pipeline.STTResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(3 * time.Second):
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
