package native

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseControlValid(t *testing.T) {
	meta32 := map[string]string{}
	var meta32JSON []string
	for i := range 32 {
		k := fmt.Sprintf("k%02d", i)
		meta32[k] = "v"
		meta32JSON = append(meta32JSON, fmt.Sprintf("%q:\"v\"", k))
	}
	tests := []struct {
		name string
		in   string
		want Control
	}{
		{"start minimal", `{"type":"start","agent":"demo"}`, Control{Type: TypeStart, Agent: "demo"}},
		{"start full", `{"type":"start","agent":"demo_2-x","from":"+15550100","to":"+15550199","sample_rate":16000,"encoding":"audio/l16","metadata":{"crm_id":"42","name":"Zoë 🎧"},"events":["speech.*","call.*","dtmf.received","*"]}`,
			Control{Type: TypeStart, Agent: "demo_2-x", From: "+15550100", To: "+15550199", SampleRate: 16000, Encoding: "audio/l16",
				Metadata: map[string]string{"crm_id": "42", "name": "Zoë 🎧"}, Events: []string{"speech.*", "call.*", "dtmf.received", "*"}}},
		{"start pcm16 alias", `{"type":"start","agent":"demo","encoding":"pcm16"}`, Control{Type: TypeStart, Agent: "demo", Encoding: "pcm16"}},
		{"start empty metadata and events mean none", `{"type":"start","agent":"demo","metadata":{},"events":[]}`, Control{Type: TypeStart, Agent: "demo"}},
		{"start nulls mean absent", `{"type":"start","agent":"demo","from":null,"metadata":null,"events":null,"sample_rate":null}`, Control{Type: TypeStart, Agent: "demo"}},
		{"start 32 metadata entries", `{"type":"start","agent":"demo","metadata":{` + strings.Join(meta32JSON, ",") + `}}`, Control{Type: TypeStart, Agent: "demo", Metadata: meta32}},
		{"start 64-char agent", `{"type":"start","agent":"` + strings.Repeat("a", 64) + `"}`, Control{Type: TypeStart, Agent: strings.Repeat("a", 64)}},
		{"start escaped key", `{"\u0074ype":"start","agent":"demo"}`, Control{Type: TypeStart, Agent: "demo"}},
		{"whitespace around", " \t\r\n{ \"type\" : \"stop\" }\n ", Control{Type: TypeStop}},
		{"stop", `{"type":"stop"}`, Control{Type: TypeStop}},
		{"clear", `{"type":"clear"}`, Control{Type: TypeClear}},
		{"dtmf digit", `{"type":"dtmf","digit":"7"}`, Control{Type: TypeDTMF, Digit: "7"}},
		{"dtmf star", `{"type":"dtmf","digit":"*"}`, Control{Type: TypeDTMF, Digit: "*"}},
		{"dtmf hash", `{"type":"dtmf","digit":"#"}`, Control{Type: TypeDTMF, Digit: "#"}},
		{"dtmf letter", `{"type":"dtmf","digit":"D"}`, Control{Type: TypeDTMF, Digit: "D"}},
		{"dtmf lowercase letter is canonicalised", `{"type":"dtmf","digit":"b"}`, Control{Type: TypeDTMF, Digit: "B"}},
		{"mark", `{"type":"mark","name":"greeting-end"}`, Control{Type: TypeMark, Name: "greeting-end"}},
		{"mark 128 characters of unicode", `{"type":"mark","name":"` + strings.Repeat("é", 128) + `"}`, Control{Type: TypeMark, Name: strings.Repeat("é", 128)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseControl([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseControl(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseControl(%s)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseControlInvalid(t *testing.T) {
	bigMeta := make([]string, 33)
	for i := range bigMeta {
		bigMeta[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	manyEvents := make([]string, 65)
	for i := range manyEvents {
		manyEvents[i] = `"call.*"`
	}
	tests := []struct {
		name string
		in   string
		want []string // every one must appear in the error text
	}{
		// Framing and JSON.
		{"empty", ``, []string{"empty"}},
		{"blank", "  \n", []string{"empty"}},
		{"not JSON", `hello`, []string{"invalid JSON", "byte"}},
		{"truncated", `{"type":"start","agent":"de`, []string{"invalid JSON"}},
		{"array", `[{"type":"stop"}]`, []string{"JSON object"}},
		{"string", `"stop"`, []string{"JSON object"}},
		{"number", `42`, []string{"JSON object"}},
		{"null", `null`, []string{"JSON object"}},
		{"trailing object", `{"type":"stop"}{"type":"stop"}`, []string{"trailing data"}},
		{"trailing bracket", `{"type":"stop"}]`, []string{"trailing data"}},
		{"trailing brace", `{"type":"stop"}}`, []string{"trailing data"}},
		{"trailing junk", `{"type":"stop"} x`, []string{"trailing data"}},
		{"nested junk", `{"type":"stop","x":{"a":[1,{"b":[[[]]]}]}}`, []string{`unknown field "x"`}},
		{"deep nesting", `{"type":"start","agent":"demo","metadata":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, []string{"metadata"}},
		// Type.
		{"missing type", `{"agent":"demo"}`, []string{`no "type"`}},
		{"empty type", `{"type":""}`, []string{`no "type"`}},
		{"unknown type", `{"type":"hangup"}`, []string{`unknown message type "hangup"`, "start, stop, dtmf, mark or clear"}},
		{"server type from client", `{"type":"started"}`, []string{`unknown message type "started"`}},
		{"type wrong case", `{"type":"STOP"}`, []string{`unknown message type "STOP"`}},
		{"type not a string", `{"type":1}`, []string{`"type"`, "string"}},
		{"long unknown type is clipped", `{"type":"` + strings.Repeat("x", 500) + `"}`, []string{"unknown message type", "…"}},
		// Fields.
		{"unknown field", `{"type":"stop","reason":"bye"}`, []string{`unknown field "reason"`}},
		{"field wrong case", `{"Type":"stop"}`, []string{`unknown field "Type"`, `did you mean "type"`}},
		{"field shadowed by case", `{"type":"start","agent":"demo","AGENT":"other"}`, []string{`unknown field "AGENT"`}},
		{"duplicate field", `{"type":"start","agent":"demo","agent":"other"}`, []string{`"agent"`, "more than once"}},
		// start.
		{"start without agent", `{"type":"start"}`, []string{"start.agent is required"}},
		{"start bad agent", `{"type":"start","agent":"Demo!"}`, []string{"start.agent", "not a valid agent id"}},
		{"start agent too long", `{"type":"start","agent":"` + strings.Repeat("a", 65) + `"}`, []string{"start.agent", "not a valid agent id"}},
		{"start agent not a string", `{"type":"start","agent":7}`, []string{`"agent"`, "string", "7"}},
		{"wrong sample rate", `{"type":"start","agent":"demo","sample_rate":8000}`, []string{"start.sample_rate", "16000", "8000"}},
		{"sample rate float", `{"type":"start","agent":"demo","sample_rate":16000.5}`, []string{`"sample_rate"`, "integer", "16000.5"}},
		{"sample rate huge", `{"type":"start","agent":"demo","sample_rate":1e400}`, []string{`"sample_rate"`, "integer"}},
		{"sample rate huge integer", `{"type":"start","agent":"demo","sample_rate":123456789012345678901234567890}`, []string{`"sample_rate"`, "integer"}},
		{"sample rate string", `{"type":"start","agent":"demo","sample_rate":"16000"}`, []string{`"sample_rate"`, "integer"}},
		{"wrong encoding", `{"type":"start","agent":"demo","encoding":"audio/pcmu"}`, []string{"start.encoding", "audio/l16", "audio/pcmu"}},
		{"from too long", `{"type":"start","agent":"demo","from":"` + strings.Repeat("1", 65) + `"}`, []string{"start.from", "64"}},
		{"too much metadata", `{"type":"start","agent":"demo","metadata":{` + strings.Join(bigMeta, ",") + `}}`, []string{"start.metadata", "33 entries", "32"}},
		{"metadata key too long", `{"type":"start","agent":"demo","metadata":{"` + strings.Repeat("k", 65) + `":"v"}}`, []string{"start.metadata", "key", "64"}},
		{"metadata value too long", `{"type":"start","agent":"demo","metadata":{"k":"` + strings.Repeat("v", 1025) + `"}}`, []string{`start.metadata["k"]`, "1024"}},
		{"metadata not strings", `{"type":"start","agent":"demo","metadata":{"n":42}}`, []string{`"metadata"`, "object of strings"}},
		{"metadata not an object", `{"type":"start","agent":"demo","metadata":["a"]}`, []string{`"metadata"`, "object of strings"}},
		{"events not a list", `{"type":"start","agent":"demo","events":"call.*"}`, []string{`"events"`, "list of strings"}},
		{"events bad glob", `{"type":"start","agent":"demo","events":["call.["]}`, []string{"start.events", `"call.["`}},
		{"events empty pattern", `{"type":"start","agent":"demo","events":[""]}`, []string{"start.events", "empty"}},
		{"too many events", `{"type":"start","agent":"demo","events":[` + strings.Join(manyEvents, ",") + `]}`, []string{"start.events", "65", "64"}},
		{"several start problems at once", `{"type":"start","sample_rate":8000,"encoding":"x"}`, []string{"start.agent is required", "start.sample_rate", "start.encoding"}},
		// dtmf.
		{"dtmf missing digit", `{"type":"dtmf"}`, []string{"dtmf.digit", `got ""`}},
		{"dtmf bad digit", `{"type":"dtmf","digit":"E"}`, []string{"dtmf.digit", "0-9 * # A-D", `"E"`}},
		{"dtmf two digits", `{"type":"dtmf","digit":"12"}`, []string{"dtmf.digit", `"12"`}},
		{"dtmf unicode digit", `{"type":"dtmf","digit":"٣"}`, []string{"dtmf.digit"}},
		{"dtmf digit number", `{"type":"dtmf","digit":5}`, []string{`"digit"`, "string"}},
		// mark.
		{"mark without name", `{"type":"mark"}`, []string{"mark.name", "1..128"}},
		{"mark name too long", `{"type":"mark","name":"` + strings.Repeat("n", 129) + `"}`, []string{"mark.name", "1..128"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseControl([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseControl(%.80s) accepted it", tt.in)
			}
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("error does not wrap ErrProtocol: %v", err)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			checkClientMessage(t, msg)
		})
	}
}

// checkClientMessage asserts what every error shown to a client must be: short,
// valid UTF-8, and free of Go internals.
func checkClientMessage(t *testing.T, msg string) {
	t.Helper()
	if len(msg) > 1024 {
		t.Errorf("error is %d bytes long: %.100s…", len(msg), msg)
	}
	if !utf8.ValidString(msg) {
		t.Errorf("error is not valid UTF-8: %q", msg)
	}
	for _, leak := range []string{"Go struct", "Go value", "native.Control", "json:", "reflect"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error %q leaks %q", msg, leak)
		}
	}
}

func TestClipKeepsUTF8(t *testing.T) {
	for _, s := range []string{strings.Repeat("é", 40), strings.Repeat("🎧", 30), "a" + strings.Repeat("€", 20)} {
		c := clip(s)
		if !utf8.ValidString(c) {
			t.Errorf("clip(%q) = %q, not valid UTF-8", s, c)
		}
		if !strings.HasSuffix(c, "…") {
			t.Errorf("clip(%q) = %q, not clipped", s, c)
		}
	}
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
}

func BenchmarkParseControl(b *testing.B) {
	for _, m := range []string{
		`{"type":"dtmf","digit":"5"}`,
		`{"type":"start","agent":"demo","from":"+15550100","metadata":{"crm_id":"42"},"events":["speech.*","agent.*","call.*","intent.*"]}`,
	} {
		b.Run(strings.SplitN(m, `"`, 5)[3], func(b *testing.B) {
			data := []byte(m)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseControl(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
