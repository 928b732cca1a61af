package events_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
)

var tsRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

func TestEventJSONEnvelope(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 11, 1, 10, 30, 15, 123456789, paris)
	type payloadStruct struct {
		Digit string `json:"digit"`
	}
	tests := []struct {
		name    string
		payload any
		want    string // payload as JSON
	}{
		{"map", map[string]any{"text": "hello", "turn": 2}, `{"text":"hello","turn":2}`},
		{"struct", payloadStruct{Digit: "5"}, `{"digit":"5"}`},
		{"nil", nil, `{}`},
		{"nil map", map[string]any(nil), `{}`},
		{"nil string map", map[string]string(nil), `{}`},
		{"nil struct pointer", (*payloadStruct)(nil), `{}`},
		{"empty map", map[string]any{}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := events.Event{Type: events.SpeechTranscribed, ID: "evt_01JH0000000000000000000000", APIVersion: events.APIVersion,
				CallID: "call_01JH", AgentID: "demo", Sequence: 7, Timestamp: at, Payload: tt.payload}
			// The envelope is the same whether the event is encoded by pointer or by value.
			for _, v := range []any{&e, e} {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]json.RawMessage
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				wantKeys := []string{"agent_id", "api_version", "call_id", "event_id", "event_type", "payload", "sequence", "timestamp"}
				if len(keys) != len(wantKeys) {
					t.Errorf("%T: keys %v, want %v", v, keys, wantKeys)
				}
				for _, k := range wantKeys {
					if _, ok := m[k]; !ok {
						t.Errorf("%T: no %q in %s", v, k, b)
					}
				}
				var ts string
				_ = json.Unmarshal(m["timestamp"], &ts)
				if ts != "2026-11-01T09:30:15.123Z" || !tsRe.MatchString(ts) {
					t.Errorf("%T: timestamp %q, want UTC with milliseconds and Z (2026-11-01T09:30:15.123Z)", v, ts)
				}
				if got := string(m["payload"]); got != tt.want {
					t.Errorf("%T: payload %s, want %s", v, got, tt.want)
				}
				if string(m["sequence"]) != "7" || string(m["event_type"]) != `"speech.transcribed"` ||
					string(m["api_version"]) != `"`+events.APIVersion+`"` || string(m["call_id"]) != `"call_01JH"` ||
					string(m["agent_id"]) != `"demo"` || string(m["event_id"]) != `"evt_01JH0000000000000000000000"` {
					t.Errorf("%T: envelope fields wrong: %s", v, b)
				}
			}
		})
	}
}

func TestEventJSONTimestampPrecision(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),         // whole second keeps .000
		time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC), // truncated, not rounded
		time.Date(2026, 1, 2, 23, 59, 59, 1000000, time.FixedZone("X", -5*3600)),
		time.Now(),
	} {
		b, err := json.Marshal(&events.Event{Type: "x", Timestamp: at})
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Timestamp string }
		_ = json.Unmarshal(b, &m)
		if !tsRe.MatchString(m.Timestamp) {
			t.Errorf("%v encodes as %q", at, m.Timestamp)
		}
		back, err := time.Parse(time.RFC3339Nano, m.Timestamp)
		if err != nil || !back.Equal(at.Truncate(time.Millisecond)) {
			t.Errorf("%v encodes as %q, which reads back as %v (%v)", at, m.Timestamp, back, err)
		}
	}
}

func TestEventTypesCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range events.Types {
		if seen[typ] {
			t.Errorf("%s listed twice", typ)
		}
		seen[typ] = true
		if typ != strings.ToLower(typ) || !strings.Contains(typ, ".") {
			t.Errorf("event type %q is not lowercase dotted", typ)
		}
	}
}

func BenchmarkEventJSON(b *testing.B) {
	e := &events.Event{Type: events.SpeechTranscribed, ID: events.NewEventID(time.Now()), APIVersion: events.APIVersion,
		CallID: events.NewCallID(time.Now()), AgentID: "demo", Sequence: 42, Timestamp: time.Now(),
		Payload: map[string]any{"text": "I would like to book an appointment", "confidence": 0.93, "is_final": true, "turn": 3, "audio_ms": 1840.0}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(e); err != nil {
			b.Fatal(err)
		}
	}
}
