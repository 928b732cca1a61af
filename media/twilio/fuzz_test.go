package twilio

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text frames to the parser: it must never panic, must
// refuse with an ErrProtocol error, and must keep what it accepts within limits.
func FuzzParse(f *testing.F) {
	data, _ := os.ReadFile("testdata/call.jsonl")
	for _, l := range strings.Split(string(data), "\n") {
		f.Add([]byte(l))
	}
	for _, s := range []string{`{}`, `{"event":"media","sequenceNumber":7}`, `{"event":"dtmf","sequenceNumber":"1","dtmf":{"digit":"55"}}`,
		`{"event":"mark","mark":{"name":""}}`, `{"event":"start","sequenceNumber":"1","start":{}}`, `{"event":"x"}`, `[]`, `{"event":"stop"} {}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v does not wrap ErrProtocol", err)
			}
			return
		}
		switch m.Event {
		case EventMedia:
			if m.Media == nil || len(m.Media.Audio) > maxPayloadBytes {
				t.Fatalf("accepted media %+v", m.Media)
			}
		case EventStart:
			if m.Start == nil || m.Start.CallSid == "" || len(m.Start.CustomParameters) > maxParams {
				t.Fatalf("accepted start %+v", m.Start)
			}
		case EventDTMF:
			if m.DTMF == nil || len(m.DTMF.Digit) != 1 {
				t.Fatalf("accepted dtmf %+v", m.DTMF)
			}
		case EventConnected, EventMark, EventStop:
		default:
			t.Fatalf("accepted unknown event %q", m.Event)
		}
	})
}
