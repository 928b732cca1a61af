package sphinx

import (
	"context"
	"testing"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/espeak"
)

// A phone call's first utterance, telephone band in another voice than the
// prime: the wideband-primed decoder misheard it ("operator" for "i would like
// to book an appointment", seen over the Twilio transport); the narrowband
// stream's decoder and its second pass of the first utterance hear it.
func TestNarrowbandFirstUtterance(t *testing.T) {
	phrases := []string{"i would like to book an appointment", "operator", "goodbye", "yes please"}
	s := newRealSTT(t, Config{Prime: speech(t, "Hello, I would like some help with my appointment please.")})
	tts, err := espeak.New(espeak.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var m3 []int16
	err = tts.Synthesize(context.Background(), pipeline.TTSRequest{Text: "i would like to book an appointment", SampleRate: SampleRate, Voice: "en-us+m3"},
		func(p []int16) error { m3 = append(m3, p...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	phone, err := telephoneBand(append(append(make([]int16, 4800), m3...), make([]int16, 4800)...))
	if err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	st, err := s.NewStream(context.Background(), pipeline.STTConfig{SampleRate: SampleRate, Bandwidth: 4000, Phrases: phrases}, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	feed(t, st, phone)
	if err := st.Finalize(); err != nil {
		t.Fatal(err)
	}
	if got := c.waitFinal(t).Text; got != "i would like to book an appointment" {
		t.Fatalf("first telephone-band utterance heard as %q", got)
	}
}
