package providertest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/elevenlabs"
	"github.com/parley-voice/parley/pipeline/providertest"
)

const xiKey = "xi-test-providertest"

// The real ElevenLabs client opens a socket per sentence and gets audio of a
// length proportional to the text in the pcm format it asked for.
func TestElevenLabsWithClient(t *testing.T) {
	f, err := providertest.NewElevenLabs(providertest.ElevenLabsConfig{APIKey: xiKey, MsPerChar: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := elevenlabs.New(elevenlabs.Config{APIKey: xiKey, BaseURL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	text := "Thanks for calling." // 19 characters: 760 ms at 40 ms each
	var n int
	if err := c.Synthesize(context.Background(), pipeline.TTSRequest{Text: text, SampleRate: 16000}, func(p []int16) error { n += len(p); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := 16000 * 760 / 1000; n < want-320 || n > want+320 {
		t.Errorf("%d samples, want about %d", n, want)
	}
	s := f.Sessions()
	if len(s) != 1 || s[0].VoiceID != elevenlabs.DefaultVoice || s[0].OutputFormat != "pcm_16000" || s[0].ModelID != elevenlabs.DefaultModel ||
		s[0].Init["text"] != " " || len(s[0].Texts) != 1 || s[0].Texts[0] != text+" " || !s[0].Final || s[0].Header.Get("xi-api-key") != xiKey {
		t.Fatalf("sessions %+v", s)
	}
	bad, _ := elevenlabs.New(elevenlabs.Config{APIKey: "xi-nope", BaseURL: f.URL()})
	err = bad.Synthesize(context.Background(), pipeline.TTSRequest{Text: text, SampleRate: 16000}, func([]int16) error { return nil })
	if err == nil || strings.Contains(err.Error(), "xi-nope") {
		t.Fatalf("wrong key: %v", err)
	}
}

// Handshakes and messages the real API refuses are refused.
func TestElevenLabsRejects(t *testing.T) {
	f, err := providertest.NewElevenLabs(providertest.ElevenLabsConfig{APIKey: xiKey})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := http.Header{"xi-api-key": {xiKey}}
	for _, c := range []struct {
		name, path string
		h          http.Header
		status     int
	}{
		{"wrong key", "/text-to-speech/v1/stream-input?output_format=pcm_16000", http.Header{"xi-api-key": {"nope"}}, 401},
		{"wrong path", "/text-to-speech/v1/stream?output_format=pcm_16000", h, 404},
		{"bad format", "/text-to-speech/v1/stream-input?output_format=pcm_12345", h, 400},
	} {
		ws, resp, err := websocket.DefaultDialer.Dial(f.URL()+c.path, c.h)
		if err == nil {
			ws.Close()
			t.Errorf("%s: connected", c.name)
		} else if resp == nil || resp.StatusCode != c.status {
			t.Errorf("%s: %v, want HTTP %d", c.name, err, c.status)
		}
	}
	// Without the header, the key must come in the first message, which must be " ".
	for _, first := range []map[string]any{{"text": " "}, {"text": "Hello ", "xi_api_key": xiKey}} {
		ws, _, err := websocket.DefaultDialer.Dial(f.URL()+"/text-to-speech/v1/stream-input?output_format=pcm_16000", nil)
		if err != nil {
			t.Fatal(err)
		}
		ws.WriteJSON(first)
		_, _, err = ws.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.ClosePolicyViolation {
			t.Errorf("first message %v: %v, want close 1008", first, err)
		}
		ws.Close()
	}
}
