package plivo

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDocumented(t *testing.T) {
	lines := readLines(t, "stream_mulaw.jsonl")
	m, err := Parse([]byte(lines[0]))
	if err != nil || m.Start.CallID != "ba8f3e6a-1d2c-4b6e-9f0a-3c1d2e4f5a6b" || m.StreamID != "20170ada-f610-433b-8758-c02a2aab3662" ||
		m.Start.Encoding != "audio/x-mulaw" || m.Start.SampleRate != 8000 || m.SequenceNumber != 1 ||
		m.ExtraHeaders["agent"] != "demo" || m.ExtraHeaders["to"] != "+14155550199" {
		t.Fatalf("%+v %+v, %v", m, m.Start, err)
	}
	m, err = Parse([]byte(lines[1]))
	if err != nil || m.Media.Chunk != 1 || m.Media.Timestamp != 1705312200000 || len(m.Media.Payload) != 160 || m.SequenceNumber != 2 {
		t.Fatalf("%+v %+v, %v", m, m.Media, err)
	}
	if m, err = Parse([]byte(readLines(t, "played.json")[0])); err != nil || m.Event != EventPlayedStream || m.Name != "NAME" {
		t.Fatalf("%+v, %v", m, err)
	}
	// "played" is read as playedStream; the default format is L16 at 8 kHz; an
	// object of extra headers and "," separators are accepted.
	if m, err = Parse([]byte(`{"event":"played","name":"x"}`)); err != nil || m.Event != EventPlayedStream {
		t.Fatalf("%+v, %v", m, err)
	}
	m, err = Parse([]byte(`{"event":"start","start":{"callId":"c","streamId":"s"},"extra_headers":"a=1,b=2"}`))
	if err != nil || m.Start.Encoding != "audio/x-l16" || m.Start.SampleRate != 8000 || m.ExtraHeaders["b"] != "2" || m.StreamID != "s" {
		t.Fatalf("%+v, %v", m, err)
	}
	if m, err = Parse([]byte(`{"event":"start","start":{},"extra_headers":{"agent":"x"}}`)); err != nil || m.ExtraHeaders["agent"] != "x" {
		t.Fatalf("%+v, %v", m, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "empty message"},
		{`{}`, `no "event"`},
		{`{"event":"connected"}`, `unknown event "connected"`},
		{`{"event":"start"}`, "without a start object"},
		{`{"event":"start","start":{"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":16000}}}`, "is not supported"},
		{`{"event":"start","start":{"mediaFormat":{"encoding":"audio/opus","sampleRate":8000}}}`, "is not supported"},
		{`{"event":"start","start":{},"extra_headers":7}`, "extra_headers must be"},
		{`{"event":"start","start":{},"extra_headers":"` + strings.Repeat("a", 1025) + `"}`, "over 1024 bytes"},
		{`{"event":"start","sequenceNumber":"x","start":{}}`, "non-negative integer"},
		{`{"event":"media","media":{}}`, "without media.payload"},
		{`{"event":"media","media":{"payload":"!!"}}`, "not valid base64"},
		{`{"event":"dtmf","dtmf":{"digit":"12"}}`, "digit must be"},
		{`{"event":"playedStream"}`, "without a name"},
		{`{"event":"media","streamId":"` + strings.Repeat("s", 300) + `","media":{"payload":""}}`, "streamId is longer"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.60q) = %v; want an ErrProtocol containing %q", tc.in, err, tc.want)
		}
	}
}
