package bench

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/runtime/call"
)

// Config describes one run of RunTurns. Zero values take the defaults noted.
type Config struct {
	// Calls is the number of concurrent calls (default 1).
	Calls int
	// Duration is the measurement window, after the ramp and the warm-up
	// (default 20 s).
	Duration time.Duration
	// Ramp spreads the call starts over this long, so greetings and turns do not
	// line up (default 2 ms per call, at most 2 s).
	Ramp time.Duration
	// Warmup runs after the last call has started and before measuring, long
	// enough for every call to greet and take a first turn (default 4 s).
	Warmup time.Duration
	// SampleRate of the calls' audio, both ways (default 16000).
	SampleRate int
	// Speech is how long the caller talks in each turn (default 1.2 s).
	Speech time.Duration
	// SpeechLevel is the RMS level of the caller's speech-like signal, in dBFS
	// (default -20).
	SpeechLevel float64
	// NoiseLevel is the level of the line noise between utterances (default -65).
	NoiseLevel float64
	// Pause is the mean time the caller waits after the agent's audio ends before
	// speaking again; each pause is drawn uniformly from [Pause/2, 3*Pause/2]
	// (default 600 ms).
	Pause time.Duration
	// Shards is how many driver goroutines feed the calls their frames (default
	// GOMAXPROCS). Each owns a fixed subset of calls.
	Shards int
	// Seed makes the calls' phases and pauses reproducible (0 picks 1).
	Seed uint64
	// Agent serves the calls; nil means the built-in agent with fake providers
	// (see FakeAgent).
	Agent *call.Agent
	// TableTTS replaces the agent's TTS by one of fake.TTS's shape that copies
	// its tone from a table instead of computing a sine per sample, to tell the
	// runtime's cost from the fake provider's own CPU.
	TableTTS bool
	// Stream, when set, replaces the fake LLM by one that streams its reply
	// token by token (in process, or the real OpenAI client over loopback SSE)
	// and times each turn from the chunk that completes the first sentence to
	// the TTS request for it (Report.Stream). Agent must be nil.
	Stream StreamMode
	// TokenDelay is the pause between streamed tokens (default none).
	TokenDelay time.Duration
	// Logger receives the calls' logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, is called about once a second from RunTurns' goroutine.
	Progress func(Progress)
	// CPUProfile, when set, receives a CPU profile of the measurement window.
	CPUProfile io.Writer
	// HeapProfile, when set, receives a heap profile taken at the end of the
	// measurement window, while every call is still live.
	HeapProfile io.Writer
}

// Progress is a snapshot of a run, for progress lines.
type Progress struct {
	Phase    string        // "ramp", "warmup" or "measure"
	Elapsed  time.Duration // time in this phase
	Total    time.Duration // length of this phase
	Calls    int           // calls started so far
	Turns    int           // turns measured so far
	ShareP99 time.Duration // p99 of the runtime share so far
	Dropped  uint64        // inbound frames dropped so far, all calls
}

// maxCalls bounds Config.Calls: beyond this the driver itself would dominate.
const maxCalls = 100000

func (c Config) withDefaults() (Config, error) {
	if c.Calls == 0 {
		c.Calls = 1
	}
	if c.Duration == 0 {
		c.Duration = 20 * time.Second
	}
	if c.Ramp == 0 {
		c.Ramp = min(time.Duration(c.Calls)*2*time.Millisecond, 2*time.Second)
	}
	if c.Warmup == 0 {
		c.Warmup = 4 * time.Second
	}
	if c.SampleRate == 0 {
		c.SampleRate = 16000
	}
	if c.Speech == 0 {
		c.Speech = 1200 * time.Millisecond
	}
	if c.SpeechLevel == 0 {
		c.SpeechLevel = -20
	}
	if c.NoiseLevel == 0 {
		c.NoiseLevel = -65
	}
	if c.Pause == 0 {
		c.Pause = 600 * time.Millisecond
	}
	if c.Shards == 0 {
		c.Shards = runtime.GOMAXPROCS(0)
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.Calls < 0 || c.Calls > maxCalls:
		return c, fmt.Errorf("calls %d not in [1, %d]", c.Calls, maxCalls)
	case c.Duration < 0 || c.Ramp < 0 || c.Warmup < 0 || c.Speech < 0 || c.Pause < 0:
		return c, errors.New("durations must not be negative")
	case c.SampleRate < 0 || c.SampleRate%media.FramesPerSecond != 0:
		return c, fmt.Errorf("sample rate %d Hz is not a positive multiple of %d", c.SampleRate, media.FramesPerSecond)
	case c.Speech < 200*time.Millisecond:
		return c, fmt.Errorf("speech %v is too short for the VAD to hear (at least 200ms)", c.Speech)
	case c.SpeechLevel > 0 || c.NoiseLevel > 0 || c.NoiseLevel >= c.SpeechLevel:
		return c, fmt.Errorf("levels must be dBFS (≤ 0) with noise %.0f below speech %.0f", c.NoiseLevel, c.SpeechLevel)
	case c.Stream != StreamOff && c.Stream != StreamInProcess && c.Stream != StreamSSE:
		return c, fmt.Errorf("stream %q: want %q or %q", c.Stream, StreamInProcess, StreamSSE)
	case c.Stream != StreamOff && c.Agent != nil:
		return c, errors.New("stream and a custom agent cannot be combined: the stream mode builds its own agent")
	case c.TokenDelay < 0:
		return c, errors.New("token delay must not be negative")
	case c.Shards < 1:
		return c, fmt.Errorf("shards %d must be at least 1", c.Shards)
	}
	return c, nil
}
