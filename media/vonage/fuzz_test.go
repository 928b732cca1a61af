package vonage

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text frames to the parser: it must never panic,
// must refuse with an ErrProtocol error, and what it accepts must respect the
// limits.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"connected.json", "dtmf.json", "dtmf_nested.json", "notify.json", "cleared.json"} {
		f.Add([]byte(fixture(f, name)))
	}
	for _, s := range []string{
		`{"event":"websocket:connected","content-type":"audio/l16;rate=24000","x":{"y":[null,true]}}`,
		`{"event":"websocket:dtmf","digit":"*","duration":"7"}`, `{"event":"websocket:notify","payload":null}`,
		`[]`, `{"event":"websocket:connected","content-type":"audio/l16;rate=16000;rate=8000"}`, `{`,
	} {
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
		case EventConnected:
			if r := m.Format.Rate; r != 8000 && r != 16000 && r != 24000 {
				t.Fatalf("accepted rate %d", r)
			}
			if len(m.Headers) > 32 {
				t.Fatalf("accepted %d headers", len(m.Headers))
			}
		case EventDTMF:
			if len(m.Digit) != 1 || !strings.Contains("0123456789*#ABCD", m.Digit) || m.Duration < 0 {
				t.Fatalf("accepted dtmf %+v", m)
			}
		case EventNotify, EventCleared:
			if len(m.Name) > maxNotifyName {
				t.Fatalf("accepted name of %d bytes", len(m.Name))
			}
		default:
			t.Fatalf("accepted event %q", m.Event)
		}
	})
}
