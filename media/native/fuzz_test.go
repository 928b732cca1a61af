package native

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseControl feeds arbitrary text frames to the parser. It must never
// panic; it must refuse with an ErrProtocol error fit for a client; and whatever
// it accepts must encode and parse back to the same Control (so a message the
// server accepts means one thing only).
func FuzzParseControl(f *testing.F) {
	for _, s := range []string{
		`{"type":"start","agent":"demo"}`,
		`{"type":"start","agent":"demo","from":"+15550100","to":"+15550199","sample_rate":16000,"encoding":"audio/l16","metadata":{"crm_id":"42"},"events":["speech.*","agent.*","call.*","intent.*"]}`,
		`{"type":"start","agent":"demo","encoding":"pcm16","metadata":{},"events":[]}`,
		`{"type":"start","agent":"demo","metadata":{"名前":"Zoë 🎧","k":null}}`,
		`{"type":"start","agent":"demo","sample_rate":8000}`,
		`{"type":"start","agent":"demo","sample_rate":1e400}`,
		`{"type":"start","agent":"demo","sample_rate":-99999999999999999999}`,
		`{"type":"start","agent":"demo","sample_rate":16000.0}`,
		`{"type":"start","agent":"Demo!"}`,
		`{"type":"start","agent":"demo","events":["["]}`,
		`{"type":"start"}`,
		`{"type":"stop"}`,
		`{"type":"clear"}`,
		`{"type":"dtmf","digit":"5"}`,
		`{"type":"dtmf","digit":"#"}`,
		`{"type":"dtmf","digit":"a"}`,
		`{"type":"dtmf","digit":"E"}`,
		`{"type":"mark","name":"m1"}`,
		`{"type":"mark","name":""}`,
		`{"type":"mark","name":"\u00e9\ud83c\udfa7"}`,
		`{"type":"mark","name":"\ud800"}`,
		`{"type":"hangup"}`,
		`{"Type":"stop"}`,
		`{"type":"stop","type":"start"}`,
		`{"type":"stop","x":{"a":[1,{"b":[[[]]]}],"c":null}}`,
		`{"type":"stop"}]`,
		`{"type":"stop"}{}`,
		`[]`, `null`, `""`, `0`, ``, `{`, `}`, `{"type":`, "{\"type\":\"st\xffop\"}",
		"{\"type\":\"start\",\"agent\":\"demo\",\"from\":\"\xc3\x28\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseControl(data)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error does not wrap ErrProtocol: %v", err)
			}
			checkClientMessage(t, err.Error())
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode %#v: %v", data, c, err)
		}
		c2, err := ParseControl(b)
		if err != nil {
			t.Fatalf("accepted %q, but not its re-encoding %s: %v", data, b, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("accepted %q as %#v; its re-encoding %s parses as %#v", data, c, b, c2)
		}
		switch c.Type {
		case TypeStart, TypeStop, TypeDTMF, TypeMark, TypeClear:
		default:
			t.Fatalf("accepted %q with type %q", data, c.Type)
		}
		if c.Type == TypeStart && (c.Agent == "" || strings.ContainsAny(c.Agent, " /\x00")) {
			t.Fatalf("accepted start %q with agent %q", data, c.Agent)
		}
	})
}
