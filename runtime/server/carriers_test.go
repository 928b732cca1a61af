package server_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/server"
)

// Each carrier's media route starts a real call from the carrier's documented
// start message, with the agent in the path and the token in the query, and
// ends it cleanly when the carrier closes the socket; without the token the
// upgrade is refused.
func TestCarrierMediaRoutes(t *testing.T) {
	firstLines := func(path string, n int) []string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")[:n]
	}
	cases := []struct {
		carrier string
		open    []string
		from    string
	}{
		{"telnyx", firstLines("../../media/telnyx/testdata/stream_in.jsonl", 2), "+13122123456"},
		{"vonage", firstLines("../../media/vonage/testdata/connected.json", 1), "447700900123"},
		{"plivo", firstLines("../../media/plivo/testdata/stream_mulaw.jsonl", 1), "+14155550100"},
	}
	ts := newTestServer(t, server.Config{AuthToken: "api-token"})
	sub := ts.srv.Bus().Subscribe(64, "", events.CallStarted)
	defer sub.Close()
	base := "ws" + strings.TrimPrefix(ts.hs.URL, "http")
	for _, c := range cases {
		t.Run(c.carrier, func(t *testing.T) {
			url := base + "/v1/" + c.carrier + "/media/test"
			if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("no token: %v (%v)", err, resp)
			}
			ws, _, err := websocket.DefaultDialer.Dial(url+"?token=api-token", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range c.open {
				if err := ws.WriteMessage(websocket.TextMessage, []byte(l)); err != nil {
					t.Fatal(err)
				}
			}
			var started *events.Event
			select {
			case started = <-sub.C():
			case <-time.After(5 * time.Second):
				t.Fatal("no call.started")
			}
			p := started.Payload.(map[string]any)
			if p["transport"] != c.carrier || p["from"] != c.from || started.AgentID != "test" {
				t.Errorf("call.started %+v", p)
			}
			// A clean close handshake, as the carrier does when the caller hangs up:
			// close frame, then wait for the server's before dropping the socket.
			_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"))
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					break
				}
			}
			ws.Close()
			if r := ts.endReason(started.CallID); r != "caller_hangup" {
				t.Errorf("call ended with %q, want caller_hangup", r)
			}
		})
	}
}
