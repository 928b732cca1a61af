package vad

import (
	"fmt"
	"time"

	"github.com/parley-voice/parley/media"
)

// Detector is an energy voice activity detector with an adaptive noise floor and
// hysteresis. Feed it consecutive frames with Process; it is not safe for
// concurrent use.
type Detector struct {
	cfg   Config
	floor noiseFloor

	level    float64
	speaking bool
	onset    time.Duration // consecutive time above the start threshold, not speaking
	elapsed  time.Duration // time since the current speech began, while speaking
	length   time.Duration // speech onset to end of its last voiced frame
	silence  time.Duration // time since the last voiced frame
}

// NewDetector returns a Detector for cfg, or the error from cfg.Validate.
func NewDetector(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("creating VAD detector: %w", err)
	}
	d := &Detector{cfg: cfg}
	d.Reset()
	return d, nil
}

// Reset forgets all audio seen, including the noise floor estimate.
func (d *Detector) Reset() {
	d.floor.reset(d.cfg.InitialFloor, d.cfg.FloorFall, d.cfg.FloorRise, d.cfg.FloorWindow)
	d.level = media.MinDBFS
	d.speaking = false
	d.onset, d.elapsed, d.length, d.silence = 0, 0, 0, 0
}

// Config returns the configuration the Detector runs with.
func (d *Detector) Config() Config { return d.cfg }

// Process analyses the next frame (any length; normally 20 ms at the configured
// sample rate) and reports whether speech started or stopped with it. An empty
// frame changes nothing. Process does not allocate.
func (d *Detector) Process(frame []int16) Event {
	dur := media.DurationOf(len(frame), d.cfg.SampleRate)
	if dur <= 0 {
		return None
	}
	lvl := media.RMSdBFS(frame)
	d.level = lvl
	d.floor.observe(lvl, dur)
	if !d.speaking {
		voiced := lvl >= d.cfg.MinLevel && lvl > d.floor.level+d.cfg.StartMargin
		d.floor.track(lvl, dur)
		if !voiced {
			d.onset = 0
			d.silence += dur
			return None
		}
		d.onset += dur
		d.silence = 0
		if d.onset < d.cfg.StartDuration {
			return None
		}
		d.speaking = true
		d.elapsed, d.length = d.onset, d.onset
		d.onset = 0
		return SpeechStart
	}

	d.floor.hold()
	d.elapsed += dur
	if lvl >= d.cfg.MinLevel && lvl > d.floor.level+d.cfg.StopMargin {
		d.silence = 0
		d.length = d.elapsed
		return None
	}
	d.silence += dur
	if d.silence < d.cfg.StopDuration {
		return None
	}
	d.speaking = false
	return SpeechStop
}

// Speaking reports whether speech is in progress (between SpeechStart and
// SpeechStop).
func (d *Detector) Speaking() bool { return d.speaking }

// Level returns the level of the last frame, in dBFS.
func (d *Detector) Level() float64 { return d.level }

// NoiseFloor returns the current noise floor estimate, in dBFS.
func (d *Detector) NoiseFloor() float64 { return d.floor.level }

// SilenceDuration returns the time since the last voiced frame: during speech the
// length of the current pause, after SpeechStop the whole trailing silence.
func (d *Detector) SilenceDuration() time.Duration { return d.silence }

// SpeechDuration returns how long the current speech has lasted, from its onset
// (StartDuration before SpeechStart) to now. Once speech has stopped it returns the
// length of that speech, onset to last voiced frame, until the next speech starts.
func (d *Detector) SpeechDuration() time.Duration {
	if d.speaking {
		return d.elapsed
	}
	return d.length
}
