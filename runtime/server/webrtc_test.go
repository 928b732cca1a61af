package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/server"
)

func get(t *testing.T, url, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func postOffer(t *testing.T, url, token, sdp string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(sdp))
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestWebRTCPage(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	res, body := get(t, ts.hs.URL+"/", "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "RTCPeerConnection") || !strings.Contains(body, "/v1/webrtc/") {
		t.Fatalf("page: %d %s\n%.200s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if res, _ := get(t, ts.hs.URL+"/nothing-here", ""); res.StatusCode != 404 {
		t.Errorf("unknown path answered %d, want 404 (the page is only at /)", res.StatusCode)
	}
}

// TestWebRTCTokens: with an API token configured, a browser needs a call
// token, minted with the API token, for the agent it calls and not expired.
func TestWebRTCTokens(t *testing.T) {
	ts := newTestServer(t, server.Config{AuthToken: "sekret"})
	base := ts.hs.URL
	if res, body := get(t, base+"/v1/webrtc/token?agent=test", ""); res.StatusCode != 401 {
		t.Errorf("minting without the API token: %d %s", res.StatusCode, body)
	}
	if res, body := get(t, base+"/v1/webrtc/token?agent=nobody", "sekret"); res.StatusCode != 404 || !strings.Contains(body, "unknown_agent") {
		t.Errorf("minting for an unknown agent: %d %s", res.StatusCode, body)
	}
	if res, body := get(t, base+"/v1/webrtc/token?agent=test&ttl=48h", "sekret"); res.StatusCode != 400 {
		t.Errorf("minting with a too long ttl: %d %s", res.StatusCode, body)
	}
	mint := func(ttl string) string {
		res, body := get(t, base+"/v1/webrtc/token?agent=test&ttl="+ttl, "sekret")
		var v struct{ Token, URL string }
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &v) != nil || v.Token == "" || !strings.Contains(v.URL, "token=") {
			t.Fatalf("minting: %d %s", res.StatusCode, body)
		}
		return v.Token
	}
	tok := mint("5m")
	short := mint("1s")

	// A valid token passes authentication: the garbage offer is then refused
	// as such (400), not as unauthorized.
	cases := []struct {
		name, agent, token string
		status             int
		want               string
	}{
		{"no token", "test", "", 401, "call token is required"},
		{"forged", "test", tok + "x", 401, "invalid call token"},
		{"wrong agent", "other", tok, 401, "another agent"},
		{"call token", "test", tok, 400, "invalid SDP offer"},
		{"API token", "test", "sekret", 400, "invalid SDP offer"},
	}
	for _, tc := range cases {
		res, body := postOffer(t, base+"/v1/webrtc/"+tc.agent, tc.token, "garbage")
		if res.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, res.StatusCode, body, tc.status, tc.want)
		}
	}
	time.Sleep(2100 * time.Millisecond)
	if res, body := postOffer(t, base+"/v1/webrtc/test", short, "garbage"); res.StatusCode != 401 || !strings.Contains(body, "expired") {
		t.Errorf("expired token: %d %s", res.StatusCode, body)
	}
}

// TestWebRTCRefusals: unknown agents and a full node are refused before any
// media is set up, with a clear message; the live call is unaffected.
func TestWebRTCRefusals(t *testing.T) {
	ts := newTestServer(t, server.Config{MaxCalls: 1})
	base := ts.hs.URL
	if res, body := postOffer(t, base+"/v1/webrtc/nobody", "", "garbage"); res.StatusCode != 404 || !strings.Contains(body, `no agent \"nobody\" on this server (have: test)`) {
		t.Errorf("unknown agent: %d %s", res.StatusCode, body)
	}
	p := mustDial(t, ts)
	p.awaitListening()
	res, body := postOffer(t, base+"/v1/webrtc/test", "", "garbage")
	if res.StatusCode != 503 || !strings.Contains(body, `"code":"capacity"`) || !strings.Contains(body, "limit of 1 concurrent calls") {
		t.Errorf("full node: %d %s", res.StatusCode, body)
	}
	if n := ts.srv.LiveCalls(); n != 1 {
		t.Errorf("%d live calls, want the one that was there", n)
	}
	p.hangUp()
}
