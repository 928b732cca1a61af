package vad

import (
	"bytes"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/media/resample"
	"github.com/parley-voice/parley/media/wav"
)

func newEndpointer(t testing.TB, cfg Config) *Endpointer {
	t.Helper()
	e, err := NewEndpointer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEndpointerPauseVersusEndOfTurn(t *testing.T) {
	for _, rate := range []int{8000, 16000} {
		e := newEndpointer(t, DefaultConfig(rate))
		sig := newSignal(rate).silence(time.Second).
			tone(time.Second, 300, -20).silence(400*ms). // a pause: speech stops, the turn goes on
			tone(time.Second, 300, -20).silence(2 * time.Second)
		var inTurn []bool
		evs := run(sig.pcm, rate, func(f []int16) Event {
			ev := e.Process(f)
			if ev != None {
				inTurn = append(inTurn, e.InTurn())
			}
			return ev
		})
		want := []timedEvent{
			{SpeechStart, 1060 * ms},
			{SpeechStop, 2200 * ms},
			{SpeechStart, 2460 * ms},
			{SpeechStop, 3600 * ms},
			{EndOfTurn, 4000 * ms},
		}
		if !slices.Equal(evs, want) {
			t.Fatalf("%d Hz: events %v, want %v", rate, evs, want)
		}
		if !slices.Equal(inTurn, []bool{true, true, true, true, false}) {
			t.Errorf("%d Hz: InTurn after each event %v", rate, inTurn)
		}
		if got := e.Detector().SilenceDuration(); got != 2*time.Second {
			t.Errorf("%d Hz: trailing silence %v", rate, got)
		}
	}
}

func TestEndpointerSilenceNotAboveHangover(t *testing.T) {
	for _, silence := range []time.Duration{200 * ms, 100 * ms} {
		cfg := DefaultConfig(16000)
		cfg.EndpointSilence = silence
		e := newEndpointer(t, cfg)
		sig := newSignal(16000).tone(time.Second, 300, -20).silence(time.Second)
		want := []timedEvent{{SpeechStart, 60 * ms}, {EndOfTurn, 1200 * ms}}
		if evs := run(sig.pcm, 16000, e.Process); !slices.Equal(evs, want) {
			t.Fatalf("endpoint silence %v: events %v, want %v (EndOfTurn standing for SpeechStop too)", silence, evs, want)
		}
	}
}

func TestEndpointerNoTurnWithoutSpeech(t *testing.T) {
	e := newEndpointer(t, DefaultConfig(8000))
	if evs := run(newSignal(8000).silence(3*time.Second).pcm, 8000, e.Process); len(evs) != 0 || e.InTurn() {
		t.Fatalf("silence gave %v, in turn %v", evs, e.InTurn())
	}
	run(newSignal(8000).tone(200*ms, 300, -20).pcm, 8000, e.Process)
	e.Reset()
	if e.InTurn() || e.Detector().Speaking() {
		t.Fatal("Reset left a turn open")
	}
}

// TestEspeakSpeech runs the endpointer over real synthetic speech from espeak-ng,
// padded with silence and a little noise, at several rates.
func TestEspeakSpeech(t *testing.T) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skip("espeak-ng not installed (apt-get install espeak-ng); skipping the real-speech VAD test")
	}
	out, err := exec.Command(bin, "--stdout", "Hello, I would like to reschedule my appointment to next Tuesday, please.").Output()
	if err != nil {
		t.Fatalf("running espeak-ng: %v", err)
	}
	speech, rate, err := wav.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("decoding espeak-ng output: %v", err)
	}
	// Where the speech really is: first and last sample above -40 dBFS peak.
	first, last := -1, -1
	for i, s := range speech {
		if s > 328 || s < -328 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		t.Fatal("espeak-ng produced no audible samples")
	}
	const pad = 1500 * time.Millisecond
	for _, outRate := range []int{8000, 16000, rate} {
		pcm, err := resample.Convert(speech, rate, outRate)
		if err != nil {
			t.Fatal(err)
		}
		sig := newSignal(outRate).silence(pad)
		sig.pcm = append(sig.pcm, pcm...)
		sig.silence(2 * time.Second)
		sig.add(newSignal(outRate).noise(media.DurationOf(len(sig.pcm), outRate), -65))

		onset := pad + media.DurationOf(first, rate)
		end := pad + media.DurationOf(last, rate)
		e := newEndpointer(t, DefaultConfig(outRate))
		evs := run(sig.pcm, outRate, e.Process)
		t.Logf("%d Hz: speech %v..%v, events %v", outRate, onset, end, evs)
		if len(evs) < 2 || evs[0].ev != SpeechStart || evs[len(evs)-1].ev != EndOfTurn {
			t.Fatalf("%d Hz: events %v, want SpeechStart ... EndOfTurn", outRate, evs)
		}
		if d := evs[0].at - onset; d < 0 || d > 200*ms {
			t.Errorf("%d Hz: speech detected %v after its onset, want within 200ms", outRate, d)
		}
		eot := evs[len(evs)-1].at
		if d := eot - end; d < 600*ms || d > 800*ms {
			t.Errorf("%d Hz: end of turn %v after the last sound, want 600-800ms", outRate, d)
		}
		for _, ev := range evs[:len(evs)-1] {
			if ev.ev == EndOfTurn {
				t.Errorf("%d Hz: end of turn inside the sentence at %v", outRate, ev.at)
			}
		}
	}
}

func BenchmarkEndpointerProcess(b *testing.B) {
	e, _ := NewEndpointer(DefaultConfig(16000))
	sig := newSignal(16000).speech(time.Second, -20).silence(time.Second)
	n := media.SamplesPerFrame(16000)
	frames := len(sig.pcm) / n
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Process(sig.pcm[i*n : (i+1)*n])
		i = (i + 1) % frames
	}
}
