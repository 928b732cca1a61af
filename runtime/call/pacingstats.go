package call

import "github.com/parley-voice/parley/media/pacing"

// pacingStats is call.ended's "pacing" object: how well the audio player kept
// time on the way out (docs/EVENTS.md). Lateness is of each frame's write
// against its schedule; runtime/metrics turns it into the frame pacing
// jitter histogram.
func pacingStats(s pacing.Stats) map[string]any {
	return map[string]any{
		"frames_written":  s.FramesWritten,
		"write_errors":    s.WriteErrors,
		"underruns":       s.Underruns,
		"reanchors":       s.Reanchors,
		"lateness_p50_ms": ms(s.LatenessP50),
		"lateness_p99_ms": ms(s.LatenessP99),
		"lateness_max_ms": ms(s.LatenessMax),
	}
}
