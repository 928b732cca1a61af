package pacing

import (
	"fmt"

	"github.com/parley-voice/parley/media"
)

// DefaultLead is the Lead used when Config.Lead is 0: one frame written ahead of
// real time absorbs scheduling jitter without adding noticeable latency.
const DefaultLead = 1

// MaxLead bounds Config.Lead: frames written ahead are audio a barge-in cannot take
// back once the transport has sent it.
const MaxLead = 50

// Config configures a Player.
type Config struct {
	// SampleRate of the segments and frames, in Hz; a multiple of 50 so a 20 ms
	// frame holds a whole number of samples.
	SampleRate int
	// Write sends one 20 ms frame to the transport; called only from the player's
	// goroutine. The frame is only valid during the call. Write must not call the
	// Player's Clear, Pause or Close.
	Write func(frame []int16) error
	// OnEvent is called from the player's goroutine; it must not block, and must
	// not call the Player's Clear, Pause or Close. May be nil.
	OnEvent func(Event)
	// Lead is how many frames may be written ahead of real time. 0 selects
	// DefaultLead (1); negative values are invalid.
	Lead int
	// Clock supplies time and timers; nil means real time. Tests can pass a fake.
	Clock Clock
}

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("configuring player: %w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.SampleRate <= 0 || c.SampleRate%media.FramesPerSecond != 0:
		return bad("sample rate %d Hz is not a positive multiple of %d", c.SampleRate, media.FramesPerSecond)
	case c.Write == nil:
		return bad("no Write function")
	case c.Lead < 0 || c.Lead > MaxLead:
		return bad("lead %d frames not in [0, %d]", c.Lead, MaxLead)
	}
	if c.Lead == 0 {
		c.Lead = DefaultLead
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.OnEvent == nil {
		c.OnEvent = func(Event) {}
	}
	return c, nil
}
