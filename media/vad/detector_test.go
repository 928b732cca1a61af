package vad

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/parley-voice/parley/media"
)

const ms = time.Millisecond

func newDetector(t testing.TB, cfg Config) *Detector {
	t.Helper()
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var rates = []int{8000, 16000, 22050, 48000}

func TestDigitalSilenceAndHissNeverTrigger(t *testing.T) {
	for _, rate := range rates {
		d := newDetector(t, DefaultConfig(rate))
		sig := newSignal(rate).silence(5*time.Second).noise(5*time.Second, -62).silence(time.Second)
		if evs := run(sig.pcm, rate, d.Process); len(evs) != 0 {
			t.Errorf("%d Hz: silence and -62 dBFS hiss produced events %v", rate, evs)
		}
		if d.Level() != media.MinDBFS {
			t.Errorf("%d Hz: level of digital silence = %.1f, want %.0f", rate, d.Level(), media.MinDBFS)
		}
		if d.SilenceDuration() != 11*time.Second {
			t.Errorf("%d Hz: silence duration %v, want 11s", rate, d.SilenceDuration())
		}
	}
}

// TestToneTiming checks exact start and stop times: speech is declared on the
// frame that completes StartDuration above threshold and ends on the frame that
// completes StopDuration below it.
func TestToneTiming(t *testing.T) {
	for _, rate := range rates {
		d := newDetector(t, DefaultConfig(rate))
		sig := newSignal(rate).silence(time.Second).tone(time.Second, 440, -20).silence(time.Second)
		var stopSpeech, stopSilence time.Duration
		evs := run(sig.pcm, rate, func(f []int16) Event {
			ev := d.Process(f)
			if ev == SpeechStop {
				stopSpeech, stopSilence = d.SpeechDuration(), d.SilenceDuration()
			}
			return ev
		})
		want := []timedEvent{{SpeechStart, 1060 * ms}, {SpeechStop, 2200 * ms}}
		if !slices.Equal(evs, want) {
			t.Fatalf("%d Hz: events %v, want %v", rate, evs, want)
		}
		if stopSpeech != time.Second || stopSilence != 200*ms {
			t.Errorf("%d Hz: at stop, speech %v (want 1s), silence %v (want 200ms)", rate, stopSpeech, stopSilence)
		}
		if math.Abs(d.Level()-media.MinDBFS) > 0 || d.Speaking() {
			t.Errorf("%d Hz: after the tone level %.1f speaking %v", rate, d.Level(), d.Speaking())
		}
	}
}

func TestSpeechDurationWhileSpeaking(t *testing.T) {
	d := newDetector(t, DefaultConfig(16000))
	sig := newSignal(16000).tone(500*ms, 300, -20)
	for i, ev := range run(sig.pcm, 16000, d.Process) {
		if i == 0 && (ev.ev != SpeechStart || ev.at != 60*ms) {
			t.Fatalf("first event %v", ev)
		}
	}
	if !d.Speaking() || d.SpeechDuration() != 500*ms || d.SilenceDuration() != 0 {
		t.Fatalf("speaking %v, speech %v, silence %v; want true, 500ms, 0", d.Speaking(), d.SpeechDuration(), d.SilenceDuration())
	}
	if got := d.Level(); math.Abs(got+20) > 0.1 {
		t.Fatalf("level %.2f dBFS, want -20", got)
	}
}

func TestPauseShorterThanHangoverKeepsSpeech(t *testing.T) {
	for _, rate := range rates {
		for _, tc := range []struct {
			pause time.Duration
			want  []Event
		}{
			{180 * ms, []Event{SpeechStart, SpeechStop}},
			{300 * ms, []Event{SpeechStart, SpeechStop, SpeechStart, SpeechStop}},
		} {
			d := newDetector(t, DefaultConfig(rate))
			sig := newSignal(rate).silence(500*ms).speech(time.Second, -25).silence(tc.pause).speech(time.Second, -25).silence(time.Second)
			if got := kinds(run(sig.pcm, rate, d.Process)); !slices.Equal(got, tc.want) {
				t.Errorf("%d Hz, %v pause: events %v, want %v", rate, tc.pause, got, tc.want)
			}
		}
	}
}

func TestClickShorterThanStartDurationIgnored(t *testing.T) {
	cfg := DefaultConfig(16000)
	cfg.StartDuration = 120 * ms
	d := newDetector(t, cfg)
	sig := newSignal(16000).silence(time.Second).noise(100*ms, -10).silence(time.Second)
	if evs := run(sig.pcm, 16000, d.Process); len(evs) != 0 {
		t.Fatalf("100 ms click with 120 ms StartDuration produced %v", evs)
	}
	// The same click is speech once StartDuration is shorter than it.
	cfg.StartDuration = 60 * ms
	d = newDetector(t, cfg)
	if got := kinds(run(sig.pcm, 16000, d.Process)); !slices.Equal(got, []Event{SpeechStart, SpeechStop}) {
		t.Fatalf("100 ms click with 60 ms StartDuration: events %v", got)
	}
}

func TestHysteresis(t *testing.T) {
	// After speech starts, a level between floor+StopMargin and floor+StartMargin
	// keeps it going; before, the same level does not start it.
	floor := -70.0
	cfg := DefaultConfig(8000)
	cfg.InitialFloor = floor
	cfg.MinLevel = -100
	d := newDetector(t, cfg)
	between := floor + (cfg.StartMargin+cfg.StopMargin)/2
	s := newSignal(8000).noise(time.Second, floor).tone(time.Second, 500, between)
	if evs := run(s.pcm, 8000, d.Process); len(evs) != 0 {
		t.Fatalf("level between the margins started speech: %v (floor %.1f)", evs, d.NoiseFloor())
	}
	d = newDetector(t, cfg)
	s = newSignal(8000).noise(time.Second, floor).tone(200*ms, 500, floor+20).tone(time.Second, 500, between)
	if got := kinds(run(s.pcm, 8000, d.Process)); !slices.Equal(got, []Event{SpeechStart}) || !d.Speaking() {
		t.Fatalf("level between the margins after speech: events %v, speaking %v (floor %.1f)", got, d.Speaking(), d.NoiseFloor())
	}
}

// TestFloorAbsorbsSteadyNoise: a fan switches on. Its onset looks like speech, but
// a sound without a quiet moment for FloorWindow is absorbed into the noise floor
// and stops being speech; speech over it is still detected.
func TestFloorAbsorbsSteadyNoise(t *testing.T) {
	for _, rate := range rates {
		cfg := DefaultConfig(rate)
		d := newDetector(t, cfg)
		noise := newSignal(rate).silence(time.Second).noise(12*time.Second, -30)
		evs := run(noise.pcm, rate, d.Process)
		if got := kinds(evs); !slices.Equal(got, []Event{SpeechStart, SpeechStop}) {
			t.Fatalf("%d Hz: steady noise gave events %v, want one start and stop", rate, evs)
		}
		limit := time.Second + cfg.FloorWindow*(windowBlocks+1)/windowBlocks + cfg.StopDuration + 100*ms
		if evs[1].at > limit {
			t.Errorf("%d Hz: steady noise counted as speech until %v, want by %v", rate, evs[1].at, limit)
		}
		if f := d.NoiseFloor(); math.Abs(f+30) > 2 {
			t.Errorf("%d Hz: noise floor %.1f dBFS, want about -30", rate, f)
		}
		// Speech 15 dB above the fan.
		over := newSignal(rate).speech(time.Second, -15).silence(time.Second).add(newSignal(rate).noise(2*time.Second, -30))
		if got := kinds(run(over.pcm, rate, d.Process)); !slices.Equal(got, []Event{SpeechStart, SpeechStop}) {
			t.Errorf("%d Hz: speech over the noise gave events %v", rate, got)
		}
	}
}

func TestFloorTracksBackgroundWithoutSpeech(t *testing.T) {
	d := newDetector(t, DefaultConfig(16000))
	// Background below the start margin, from the initial floor: no speech, and
	// the floor climbs to it slowly.
	sig := newSignal(16000).noise(10*time.Second, -54)
	if evs := run(sig.pcm, 16000, d.Process); len(evs) != 0 {
		t.Fatalf("background 6 dB above the initial floor produced %v", evs)
	}
	if f := d.NoiseFloor(); math.Abs(f+54) > 2 {
		t.Fatalf("floor %.1f dBFS after 10 s of -54 dBFS noise", f)
	}
	// A quieter background is followed quickly.
	run(newSignal(16000).noise(300*ms, -75).pcm, 16000, d.Process)
	if f := d.NoiseFloor(); f > -70 {
		t.Fatalf("floor %.1f dBFS 300 ms after the background dropped to -75 dBFS", f)
	}
}

func TestFloorHoldsDuringSpeech(t *testing.T) {
	cfg := DefaultConfig(16000)
	d := newDetector(t, cfg)
	run(newSignal(16000).noise(2*time.Second, -55).pcm, 16000, d.Process)
	before := d.NoiseFloor()
	run(newSignal(16000).speech(2*time.Second, -20).pcm, 16000, d.Process)
	if !d.Speaking() {
		t.Fatal("not speaking after 2 s of speech")
	}
	if after := d.NoiseFloor(); after-before > 2 {
		t.Fatalf("floor rose from %.1f to %.1f dBFS during speech", before, after)
	}
}

// TestLongMonologue: continuous speech longer than FloorWindow lifts the floor to
// its quietest moments at most, and stays speech until it ends.
func TestLongMonologue(t *testing.T) {
	rate := 16000
	d := newDetector(t, DefaultConfig(rate))
	sig := newSignal(rate).silence(time.Second).speech(8*time.Second, -20).silence(time.Second)
	sig.add(newSignal(rate).noise(10*time.Second, -55))
	evs := run(sig.pcm, rate, d.Process)
	if got := kinds(evs); !slices.Equal(got, []Event{SpeechStart, SpeechStop}) {
		t.Fatalf("8 s monologue gave events %v", evs)
	}
	if evs[1].at < 9*time.Second || evs[1].at > 9300*ms {
		t.Errorf("monologue stopped at %v, want 9s to 9.3s", evs[1].at)
	}
}

func TestNoiseFromTheStart(t *testing.T) {
	// Speech in a noisy room, with the noise there from the first frame.
	rate := 16000
	d := newDetector(t, DefaultConfig(rate))
	bg := newSignal(rate).noise(12*time.Second, -38)
	fg := newSignal(rate).silence(6*time.Second).speech(2*time.Second, -18).silence(4 * time.Second)
	evs := run(fg.add(bg).pcm, rate, d.Process)
	if len(evs) != 4 {
		t.Fatalf("events %v, want the noise onset absorbed, then the speech", evs)
	}
	if evs[2].ev != SpeechStart || evs[2].at < 6*time.Second || evs[2].at > 6200*ms {
		t.Errorf("speech start %v, want just after 6s", evs[2])
	}
	if evs[3].ev != SpeechStop || evs[3].at < 8100*ms || evs[3].at > 8400*ms {
		t.Errorf("speech stop %v, want 8.1s to 8.4s", evs[3])
	}
}

func TestResetRestoresInitialState(t *testing.T) {
	d := newDetector(t, DefaultConfig(8000))
	sig := newSignal(8000).noise(time.Second, -40).tone(time.Second, 300, -10)
	first := run(sig.pcm, 8000, d.Process)
	d.Reset()
	if d.Speaking() || d.NoiseFloor() != -60 || d.SilenceDuration() != 0 || d.SpeechDuration() != 0 {
		t.Fatalf("after Reset: speaking %v floor %.1f silence %v speech %v", d.Speaking(), d.NoiseFloor(), d.SilenceDuration(), d.SpeechDuration())
	}
	if again := run(sig.pcm, 8000, d.Process); !slices.Equal(first, again) {
		t.Fatalf("after Reset events %v, first time %v", again, first)
	}
}

func TestEmptyFrameIsNoOp(t *testing.T) {
	d := newDetector(t, DefaultConfig(8000))
	if ev := d.Process(nil); ev != None || d.SilenceDuration() != 0 {
		t.Fatalf("empty frame: %v, silence %v", ev, d.SilenceDuration())
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig(16000).Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	tests := map[string]func(*Config){
		"zero rate":              func(c *Config) { c.SampleRate = 0 },
		"negative stop margin":   func(c *Config) { c.StopMargin = -1 },
		"start below stop":       func(c *Config) { c.StartMargin = c.StopMargin - 1 },
		"min level above 0":      func(c *Config) { c.MinLevel = 3 },
		"min level too low":      func(c *Config) { c.MinLevel = -200 },
		"initial floor above 0":  func(c *Config) { c.InitialFloor = 1 },
		"negative start":         func(c *Config) { c.StartDuration = -ms },
		"zero stop":              func(c *Config) { c.StopDuration = 0 },
		"zero endpoint silence":  func(c *Config) { c.EndpointSilence = 0 },
		"zero floor fall":        func(c *Config) { c.FloorFall = 0 },
		"zero floor rise":        func(c *Config) { c.FloorRise = 0 },
		"floor window too short": func(c *Config) { c.FloorWindow = MinFloorWindow - ms },
	}
	for name, mutate := range tests {
		cfg := DefaultConfig(16000)
		mutate(&cfg)
		err := cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate = %v, want ErrInvalidConfig", name, err)
		}
		if _, err := NewDetector(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: NewDetector error = %v", name, err)
		}
		if _, err := NewEndpointer(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: NewEndpointer error = %v", name, err)
		}
	}
}

func TestEventString(t *testing.T) {
	for ev, want := range map[Event]string{None: "none", SpeechStart: "speech_start", SpeechStop: "speech_stop", EndOfTurn: "end_of_turn", 9: "vad.Event(9)"} {
		if got := ev.String(); got != want {
			t.Errorf("Event(%d).String() = %q, want %q", int(ev), got, want)
		}
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	for _, rate := range rates {
		d := newDetector(t, DefaultConfig(rate))
		e, _ := NewEndpointer(DefaultConfig(rate))
		sig := newSignal(rate).speech(time.Second, -20).silence(time.Second)
		n := media.SamplesPerFrame(rate)
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			f := sig.pcm[i*n : (i+1)*n]
			d.Process(f)
			e.Process(f)
			i = (i + 1) % (len(sig.pcm) / n)
		})
		if allocs != 0 {
			t.Errorf("%d Hz: Process allocates %.1f times per frame", rate, allocs)
		}
	}
}

func BenchmarkDetectorProcess(b *testing.B) {
	for _, rate := range []int{8000, 16000, 48000} {
		b.Run(fmt.Sprint(rate), func(b *testing.B) {
			d, _ := NewDetector(DefaultConfig(rate))
			sig := newSignal(rate).speech(time.Second, -20).silence(time.Second)
			n := media.SamplesPerFrame(rate)
			frames := len(sig.pcm) / n
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Process(sig.pcm[i*n : (i+1)*n])
				i = (i + 1) % frames
			}
		})
	}
}
