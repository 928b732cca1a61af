package vonage

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/parley-voice/parley/media/internal/carrier"
)

func TestParseDocumented(t *testing.T) {
	m, err := Parse([]byte(fixture(t, "connected.json")))
	if err != nil || m.Event != EventConnected || m.Format != (carrier.Format{Encoding: carrier.L16LE, Rate: 16000}) ||
		m.Headers["uuid"] != "63f61863-4a51-4f6b-86e1-46edebcf9356" || len(m.Headers) != 5 {
		t.Fatalf("%+v, %v", m, err)
	}
	m, err = Parse([]byte(fixture(t, "dtmf.json")))
	if err != nil || m.Digit != "5" || m.Duration != 260 {
		t.Fatalf("%+v, %v", m, err)
	}
	m, err = Parse([]byte(fixture(t, "dtmf_nested.json")))
	if err != nil || m.Digit != "#" || m.Duration != 120 {
		t.Fatalf("%+v, %v", m, err)
	}
	m, err = Parse([]byte(fixture(t, "notify.json")))
	if err != nil || m.Event != EventNotify || m.Name != "NAME" {
		t.Fatalf("%+v, %v", m, err)
	}
	if m, err = Parse([]byte(fixture(t, "cleared.json"))); err != nil || m.Event != EventCleared {
		t.Fatalf("%+v, %v", m, err)
	}
	// Non-string header values are kept as compact JSON; a notify with a
	// payload that is not ours has no name.
	m, err = Parse([]byte(`{"event":"websocket:connected","content-type":"Audio/L16; rate=8000","n":42,"o":{"a": [1, 2]}}`))
	if err != nil || m.Format.Rate != 8000 || m.Headers["n"] != "42" || m.Headers["o"] != `{"a":[1,2]}` {
		t.Fatalf("%+v, %v", m, err)
	}
	if m, err = Parse([]byte(`{"event":"websocket:notify","payload":{"other":"x"}}`)); err != nil || m.Name != "" {
		t.Fatalf("%+v, %v", m, err)
	}
}

func TestParseErrors(t *testing.T) {
	many := `{"event":"websocket:connected","content-type":"audio/l16;rate=16000"`
	for i := range 40 {
		many += `,"h` + strings.Repeat("x", i) + `":"v"`
	}
	many += "}"
	for _, tc := range []struct{ in, want string }{
		{``, "empty message"},
		{`"x"`, "must be a JSON object"},
		{`{}`, `no "event"`},
		{`{"event":1}`, `"event" must be a string`},
		{`{"event":"websocket:hello"}`, `unknown event "websocket:hello"`},
		{`{"event":"websocket:connected"}`, "content-type"},
		{`{"event":"websocket:connected","content-type":"audio/pcmu;rate=8000"}`, "is not supported"},
		{`{"event":"websocket:connected","content-type":"audio/l16;rate=44100"}`, "rate must be"},
		{`{"event":"websocket:connected","content-type":"audio/l16;rate=x"}`, "bad rate"},
		{many, "limit 32"},
		{`{"event":"websocket:connected","content-type":"audio/l16;rate=16000","k":"` + strings.Repeat("v", 1025) + `"}`, "longer than 1024"},
		{`{"event":"websocket:dtmf"}`, "without a string digit"},
		{`{"event":"websocket:dtmf","digit":"Z"}`, "digit must be"},
		{`{"event":"websocket:dtmf","digit":"1","duration":-4}`, "duration"},
		{`{"event":"websocket:dtmf","dtmf":"1"}`, "dtmf must be an object"},
		{`{"event":"websocket:notify","payload":"x"}`, "payload must be an object"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.60q) = %v; want an ErrProtocol containing %q", tc.in, err, tc.want)
		}
	}
}

// TestNCCOMatchesConnected: the NCCO in testdata produces the connected message
// in testdata: its content-type is one Parley accepts and its headers arrive
// flattened, unchanged.
func TestNCCOMatchesConnected(t *testing.T) {
	var ncco []struct {
		Endpoint []struct {
			URI         string            `json:"uri"`
			ContentType string            `json:"content-type"`
			Headers     map[string]string `json:"headers"`
		} `json:"endpoint"`
	}
	if err := json.Unmarshal([]byte(fixture(t, "ncco.json")), &ncco); err != nil || len(ncco) != 1 || len(ncco[0].Endpoint) != 1 {
		t.Fatalf("ncco.json: %v", err)
	}
	ep := ncco[0].Endpoint[0]
	m, err := Parse([]byte(fixture(t, "connected.json")))
	if err != nil || m.ContentType != ep.ContentType || !maps.Equal(m.Headers, ep.Headers) {
		t.Fatalf("connected %+v does not match the NCCO endpoint %+v (%v)", m, ep, err)
	}
	if !strings.HasPrefix(ep.URI, "wss://") || !strings.Contains(ep.URI, "/v1/vonage/media?agent=") {
		t.Fatalf("uri %q", ep.URI)
	}
}
