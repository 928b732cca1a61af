package telnyx

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// TestParseDocumentedMessages checks every message of the recorded stream.
func TestParseDocumentedMessages(t *testing.T) {
	lines := readLines(t, "testdata/stream_in.jsonl")
	events := map[string]int{}
	for i, l := range lines {
		m, err := Parse([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		events[m.Event]++
	}
	if events["connected"] != 1 || events["start"] != 1 || events["media"] != 25 || events["dtmf"] != 1 || events["error"] != 1 {
		t.Fatalf("events %v", events)
	}
	m, _ := Parse([]byte(lines[1]))
	s := m.Start
	if m.StreamID != "32DE0DEA-53CB-4B21-89A4-9E1819C043BC" || !m.HasSeq || m.SequenceNumber != 1 ||
		s.CallControlID != "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg" || s.From != "+13122123456" ||
		s.Encoding != "PCMU" || s.SampleRate != 8000 || s.Channels != 1 || len(s.Tags) != 2 || s.CustomParameters["crm_id"] != "42" {
		t.Fatalf("start parsed as %+v %+v", m, s)
	}
	m, _ = Parse([]byte(lines[2]))
	if m.Media.Track != "inbound" || m.Media.Chunk != 1 || m.Media.Timestamp != 0 || len(m.Media.Payload) != 160 || m.SequenceNumber != 2 {
		t.Fatalf("media parsed as %+v %+v", m, m.Media)
	}
	for name, want := range map[string]string{"testdata/stop.json": "stop", "testdata/mark_in.json": "mark"} {
		m, err := Parse([]byte(readLines(t, name)[0]))
		if err != nil || m.Event != want {
			t.Fatalf("%s: %+v, %v", name, m, err)
		}
	}
}

func TestParseVariants(t *testing.T) {
	// custom_parameters as the Call Control API's list of {name, value}.
	m, err := Parse([]byte(`{"event":"start","sequence_number":"1","stream_id":"s","start":{"call_control_id":"v3:x","custom_parameters":[{"name":"agent","value":"demo"}],"media_format":{"encoding":"pcma","sample_rate":"8000","channels":1}}}`))
	if err != nil || m.Start.CustomParameters["agent"] != "demo" || m.Start.Encoding != "PCMA" {
		t.Fatalf("%+v, %v", m.Start, err)
	}
	// Counters as numbers are accepted too.
	m, err = Parse([]byte(`{"event":"media","sequence_number":7,"media":{"track":"inbound","chunk":6,"timestamp":120,"payload":"/w=="}}`))
	if err != nil || m.SequenceNumber != 7 || m.Media.Chunk != 6 || len(m.Media.Payload) != 1 {
		t.Fatalf("%+v, %v", m, err)
	}
	m, err = Parse([]byte(`{"event":"dtmf","dtmf":{"digit":"a"}}`))
	if err != nil || m.DTMF != "A" {
		t.Fatalf("%+v, %v", m, err)
	}
}

func TestParseErrors(t *testing.T) {
	big := base64.StdEncoding.EncodeToString(make([]byte, maxPayload+1))
	for _, tc := range []struct{ in, want string }{
		{``, "empty message"},
		{`[]`, "must be a JSON object"},
		{`{"event":"media"`, "unexpected end"},
		{`{"event":"stop"}{}`, "trailing data"},
		{`{}`, `no "event"`},
		{`{"event":"hangup"}`, `unknown event "hangup"`},
		{`{"event":5}`, `"event"`},
		{`{"event":"start"}`, "without a start object"},
		{`{"event":"start","start":{"media_format":{"encoding":"OPUS","sample_rate":48000}}}`, `encoding "OPUS" is not supported`},
		{`{"event":"start","start":{"media_format":{"encoding":"PCMU","sample_rate":16000}}}`, "sample_rate must be 8000"},
		{`{"event":"start","start":{"media_format":{"channels":2}}}`, "channels must be 1"},
		{`{"event":"start","start":{"custom_parameters":7}}`, "custom_parameters must be"},
		{`{"event":"start","start":{"from":"` + strings.Repeat("9", 65) + `"}}`, "start.from is longer"},
		{`{"event":"media"}`, "without a media object"},
		{`{"event":"media","media":{}}`, "without media.payload"},
		{`{"event":"media","media":{"payload":"%%%"}}`, "not valid base64"},
		{`{"event":"media","media":{"payload":"` + big + `"}}`, "over 16384 bytes"},
		{`{"event":"media","sequence_number":"-1","media":{"payload":""}}`, "non-negative integer"},
		{`{"event":"dtmf","dtmf":{"digit":"55"}}`, "dtmf.digit must be"},
		{`{"event":"dtmf"}`, "without a dtmf object"},
		{`{"event":"mark","mark":{}}`, "without mark.name"},
		{`{"event":"mark","mark":{"name":"` + strings.Repeat("x", 129) + `"}}`, "mark.name is longer"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.60q) = %v; want an ErrProtocol containing %q", tc.in, err, tc.want)
		}
	}
}
