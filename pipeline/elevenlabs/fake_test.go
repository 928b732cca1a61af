package elevenlabs

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

const testKey = "xi-test-secret-789"

// fakeSession is what the fake server saw of one socket.
type fakeSession struct {
	Header http.Header
	Path   string
	Query  map[string]string
	Msgs   []map[string]any
}

// fakeServer speaks the stream-input protocol: it checks the opening single
// space and reads text until {"text":""}, then hands the socket to script.
type fakeServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []fakeSession
}

func newFakeServer(t *testing.T, script func(ws *websocket.Conn)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("xi-api-key") != testKey {
			http.Error(w, `{"detail":{"status":"invalid_api_key"}}`, http.StatusUnauthorized)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		s := fakeSession{Header: r.Header, Path: r.URL.Path, Query: map[string]string{}}
		for k := range r.URL.Query() {
			s.Query[k] = r.URL.Query().Get(k)
		}
		for {
			var m map[string]any
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			if len(s.Msgs) == 0 && m["text"] != " " {
				ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "first message must be a single space"))
				return
			}
			s.Msgs = append(s.Msgs, m)
			if m["text"] == "" {
				break
			}
		}
		f.mu.Lock()
		f.got = append(f.got, s)
		f.mu.Unlock()
		script(ws)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) sessions() []fakeSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSession(nil), f.got...)
}

func (f *fakeServer) client(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.BaseURL = "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/v1"
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

// sendAudio writes an audio message with camelCase alignment, as on the wire.
func sendAudio(ws *websocket.Conn, b []byte) error {
	m := map[string]any{
		"audio":               base64.StdEncoding.EncodeToString(b),
		"isFinal":             nil,
		"normalizedAlignment": map[string]any{"chars": []string{"h", "i"}, "charStartTimesMs": []int{0, 50}, "charDurationsMs": []int{50, 50}},
	}
	return ws.WriteJSON(m)
}

func sendFinal(ws *websocket.Conn) error {
	return ws.WriteJSON(map[string]any{"audio": nil, "isFinal": true, "normalizedAlignment": nil})
}

// drain reads until the client closes the socket.
func drain(ws *websocket.Conn) {
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
