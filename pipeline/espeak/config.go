package espeak

// Defaults for Config fields left zero.
const (
	DefaultVoice = "en-us"
	DefaultRate  = 175
)

// Speaking rates libespeak-ng accepts, in words per minute; requests outside
// the range are clamped to it.
const (
	MinRate = 80
	MaxRate = 450
)

// Config configures the synthesiser. The zero value uses the defaults.
type Config struct {
	// Voice is an espeak-ng voice name such as "en-us", "en-gb-x-rp" or
	// "en-us+f3" (voice plus variant). Default "en-us".
	Voice string
	// Rate is the speaking speed in words per minute. Default 175.
	Rate int
	// DataPath is the espeak-ng-data directory or its parent; empty means the
	// library's default. The library is initialised once per process, so every
	// New must agree on it.
	DataPath string
}

func (c Config) withDefaults() Config {
	if c.Voice == "" {
		c.Voice = DefaultVoice
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	return c
}

func clampRate(wpm int) int {
	return min(max(wpm, MinRate), MaxRate)
}
