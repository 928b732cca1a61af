package cartesia

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

const testKey = "sk_car_test-secret-123"

// fakeRequest is what the fake server saw of one socket.
type fakeRequest struct {
	Header http.Header
	Query  map[string]string
	Raw    map[string]any
	Req    generationRequest
}

// fakeServer speaks the Cartesia TTS WebSocket: it requires a key and a
// Cartesia-Version (header or query), reads one generation request and hands
// the socket to script.
type fakeServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []fakeRequest
}

func newFakeServer(t *testing.T, script func(ws *websocket.Conn, r generationRequest)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-API-Key")
		if k := r.URL.Query().Get("api_key"); k != "" {
			key = k
		}
		if key != testKey {
			http.Error(w, `{"error":"invalid API key"}`, http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Cartesia-Version") == "" && r.URL.Query().Get("cartesia_version") == "" {
			http.Error(w, `{"error":"Cartesia-Version header is required"}`, http.StatusBadRequest)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		fr := fakeRequest{Header: r.Header, Query: map[string]string{}}
		for k := range r.URL.Query() {
			fr.Query[k] = r.URL.Query().Get(k)
		}
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		json.Unmarshal(data, &fr.Raw)
		json.Unmarshal(data, &fr.Req)
		f.mu.Lock()
		f.got = append(f.got, fr)
		f.mu.Unlock()
		script(ws, fr.Req)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) requests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.got...)
}

func (f *fakeServer) client(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Voice == "" {
		cfg.Voice = "a0e99841-438c-4a64-b679-ae501e7d6091"
	}
	cfg.URL = "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/tts/websocket"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pcmBytes(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func tone(n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16((i*91)%20000 - 10000)
	}
	return pcm
}

func sendChunk(ws *websocket.Conn, ctxID string, b []byte) error {
	return ws.WriteJSON(map[string]any{"type": "chunk", "data": base64.StdEncoding.EncodeToString(b),
		"context_id": ctxID, "done": false, "status_code": 206, "step_time": 12.5})
}

func sendDone(ws *websocket.Conn, ctxID string) error {
	return ws.WriteJSON(map[string]any{"type": "done", "context_id": ctxID, "done": true, "status_code": 206})
}

// drain reads until the client closes the socket.
func drain(ws *websocket.Conn) {
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}
