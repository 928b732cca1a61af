package deepgram

import (
	"testing"
)

func TestUtteranceAssembly(t *testing.T) {
	var u utterance
	if p := u.interim(""); p != "" {
		t.Errorf("empty interim gave %q", p)
	}
	if p := u.interim("good"); p != "good" {
		t.Errorf("interim = %q", p)
	}
	if p := u.interim("good"); p != "" {
		t.Errorf("repeated interim emitted again: %q", p)
	}
	u.add(message{Start: 1, Duration: 0.5}, "good morning", 0.5)
	u.add(message{Start: 1.5, Duration: 0.5}, "", 0.9) // empty finals are skipped
	u.add(message{Start: 2, Duration: 1}, "to you", 1)
	if p := u.interim("again"); p != "good morning to you again" {
		t.Errorf("interim after finals = %q", p)
	}
	r := u.final()
	if r.Text != "good morning to you" || r.Confidence != 0.75 || r.AudioDuration.Seconds() != 2 {
		t.Errorf("final = %+v", r)
	}
	if !u.empty() || u.final().Text != "" {
		t.Error("utterance not reset after final")
	}
}

// FuzzParse feeds arbitrary server frames through the message handling code
// that runs on Deepgram's output.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"Results","is_final":true,"speech_final":true,"channel":{"alternatives":[{"transcript":"hi","confidence":0.9}]}}`))
	f.Add([]byte(`{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.48}`))
	f.Add([]byte(`{"type":"Results","channel":[0,1]}`))
	f.Add([]byte(`{"type":"Metadata","request_id":"x"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parse(data)
		if err != nil {
			return
		}
		var u utterance
		text, conf := m.best()
		u.interim(text)
		u.add(m, text, conf)
		if r := u.final(); text != "" && r.Text != text {
			t.Fatalf("final %q, want %q", r.Text, text)
		}
	})
}
