package plivo

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text frames to the parser: it must never panic,
// must refuse with an ErrProtocol error, and what it accepts must respect the
// limits.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"stream_mulaw.jsonl", "stream_l16.jsonl", "played.json", "cleared.json"} {
		lines := readLines(f, name)
		for _, l := range append(lines[:min(len(lines), 3)], lines[len(lines)-1]) {
			f.Add([]byte(l))
		}
	}
	for _, s := range []string{`{"event":"played","name":"n"}`, `{"event":"stop"}`, `{"event":"start","start":{},"extra_headers":"a=b;;=c,d"}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			return
		}
		switch m.Event {
		case EventStart:
			if f := m.Start.Format(); f.Validate() != nil {
				t.Fatalf("accepted start with format %v", f)
			}
			if len(m.ExtraHeaders) > 32 {
				t.Fatalf("accepted %d extra headers", len(m.ExtraHeaders))
			}
		case EventMedia:
			if len(m.Media.Payload) > maxPayload {
				t.Fatalf("accepted %d bytes of media", len(m.Media.Payload))
			}
		case EventDTMF:
			if len(m.Digit) != 1 || !strings.Contains("0123456789*#ABCD", m.Digit) {
				t.Fatalf("accepted digit %q", m.Digit)
			}
		case EventPlayedStream:
			if m.Name == "" || len(m.Name) > maxNameLen {
				t.Fatalf("accepted name %q", m.Name)
			}
		case EventClearedAudio, EventStop:
		default:
			t.Fatalf("accepted event %q", m.Event)
		}
	})
}
