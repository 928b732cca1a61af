package telnyx

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text frames to the parser: it must never panic,
// must refuse with an ErrProtocol error, and what it accepts must respect the
// limits.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/stream_in.jsonl", "testdata/stop.json", "testdata/mark_in.json"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			f.Add([]byte(l))
		}
	}
	for _, s := range []string{
		`{"event":"start","start":{"custom_parameters":[{"name":"a","value":"b"}],"media_format":{"encoding":"pcma","sample_rate":"8000"}}}`,
		`{"event":"media","sequence_number":99999999999999999999,"media":{"payload":"AAAA"}}`,
		`{"event":"dtmf","dtmf":{"digit":"#"}}`, `{"event":"error","payload":{"code":1}}`, `{"event":"mark","mark":{"name":"\ud800"}}`,
		`[]`, `null`, `{`, `{"event":"media","media":{"payload":"="}}`,
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
		case EventConnected, EventStop, EventError:
		case EventStart:
			if (m.Start.Encoding != "PCMU" && m.Start.Encoding != "PCMA") || m.Start.SampleRate != 8000 || m.Start.Channels != 1 {
				t.Fatalf("accepted start with %+v", m.Start)
			}
			if len(m.Start.CustomParameters) > 32 || len(m.Start.From) > maxPhoneLen {
				t.Fatalf("accepted start over the limits: %+v", m.Start)
			}
		case EventMedia:
			if m.Media == nil || len(m.Media.Payload) > maxPayload {
				t.Fatalf("accepted media %+v", m.Media)
			}
		case EventDTMF:
			if len(m.DTMF) != 1 || !strings.Contains("0123456789*#ABCD", m.DTMF) {
				t.Fatalf("accepted digit %q", m.DTMF)
			}
		case EventMark:
			if m.Mark == "" || len(m.Mark) > maxMarkNameLen {
				t.Fatalf("accepted mark %q", m.Mark)
			}
		default:
			t.Fatalf("accepted event %q", m.Event)
		}
		if len(m.Error) > maxErrorDetail {
			t.Fatalf("error detail of %d bytes", len(m.Error))
		}
	})
}
