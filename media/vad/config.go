package vad

import (
	"fmt"
	"time"

	"github.com/parley-voice/parley/media"
)

// Config tunes a Detector. Start from DefaultConfig and change what you need.
type Config struct {
	// SampleRate of the frames, in Hz; it turns frame lengths into durations.
	SampleRate int

	// StartMargin is how far above the noise floor, in dB, a frame must be to count
	// towards the start of speech.
	StartMargin float64
	// StopMargin is how far above the noise floor, in dB, a frame must stay to keep
	// speech going. It is smaller than StartMargin (hysteresis).
	StopMargin float64
	// MinLevel is the absolute level, in dBFS, below which a frame is never speech,
	// however low the noise floor, so digital silence and line hiss never trigger.
	MinLevel float64

	// StartDuration is how long the level must stay above the start threshold
	// before speech is declared; it rejects clicks and pops.
	StartDuration time.Duration
	// StopDuration is how long the level must stay below the stop threshold before
	// speech is declared over (the hangover); shorter pauses stay inside speech.
	StopDuration time.Duration
	// EndpointSilence is how long the silence after speech must last for an
	// Endpointer to report EndOfTurn. A value below StopDuration ends the turn as
	// soon as speech stops.
	EndpointSilence time.Duration

	// InitialFloor is the noise floor, in dBFS, assumed before any audio is seen.
	InitialFloor float64
	// FloorFall is the time constant with which the floor follows a quieter
	// background (fast).
	FloorFall time.Duration
	// FloorRise is the time constant with which the floor follows a louder
	// background while nobody speaks (slow, so speech onsets do not lift it).
	FloorRise time.Duration
	// FloorWindow bounds how long a steady sound can pass for speech. During speech
	// the floor holds, except that it is raised to the quietest frame of the last
	// FloorWindow: real speech has gaps that keep that minimum near the true floor,
	// whereas a steady noise mistaken for speech has none, so it is absorbed into the
	// floor and speech stops. At least MinFloorWindow.
	FloorWindow time.Duration
}

// MinFloorWindow is the shortest Config.FloorWindow accepted: shorter windows
// would let ordinary continuous speech lift the floor.
const MinFloorWindow = time.Second

// DefaultConfig returns settings that suit telephone and browser speech at
// sampleRate Hz.
func DefaultConfig(sampleRate int) Config {
	return Config{
		SampleRate:      sampleRate,
		StartMargin:     10,
		StopMargin:      5,
		MinLevel:        -50,
		StartDuration:   60 * time.Millisecond,
		StopDuration:    200 * time.Millisecond,
		EndpointSilence: 600 * time.Millisecond,
		InitialFloor:    -60,
		FloorFall:       50 * time.Millisecond,
		FloorRise:       2 * time.Second,
		FloorWindow:     3 * time.Second,
	}
}

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("validating VAD config: %w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.SampleRate <= 0:
		return bad("sample rate %d Hz must be positive", c.SampleRate)
	case c.StopMargin < 0:
		return bad("stop margin %.1f dB must not be negative", c.StopMargin)
	case c.StartMargin < c.StopMargin:
		return bad("start margin %.1f dB must be at least the stop margin %.1f dB", c.StartMargin, c.StopMargin)
	case c.MinLevel < media.MinDBFS || c.MinLevel > 0:
		return bad("minimum level %.1f dBFS must be within [%.0f, 0]", c.MinLevel, media.MinDBFS)
	case c.InitialFloor < media.MinDBFS || c.InitialFloor > 0:
		return bad("initial floor %.1f dBFS must be within [%.0f, 0]", c.InitialFloor, media.MinDBFS)
	case c.StartDuration < 0:
		return bad("start duration %v must not be negative", c.StartDuration)
	case c.StopDuration <= 0:
		return bad("stop duration %v must be positive", c.StopDuration)
	case c.EndpointSilence <= 0:
		return bad("endpoint silence %v must be positive", c.EndpointSilence)
	case c.FloorFall <= 0 || c.FloorRise <= 0:
		return bad("floor time constants (fall %v, rise %v) must be positive", c.FloorFall, c.FloorRise)
	case c.FloorWindow < MinFloorWindow:
		return bad("floor window %v must be at least %v", c.FloorWindow, MinFloorWindow)
	}
	return nil
}
