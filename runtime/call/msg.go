package call

import (
	"time"

	"github.com/parley-voice/parley/media/pacing"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/fallback"
	"github.com/parley-voice/parley/plugins"
)

type msgKind uint8

const (
	msgNone msgKind = iota
	msgAudio
	msgDTMF
	msgHangup
	msgSTT
	msgLLMChunk
	msgLLMDone
	msgTTSAudio
	msgTTSDone
	msgToolDone
	msgPlayer
	msgToolProgress // a running tool's progress report (toolprogress.go)
	msgFallback     // a provider chain moved to its next provider (fallback.go)
)

// msg is one mailbox entry. It is a flat struct rather than an interface so that
// posting audio frames does not allocate.
type msg struct {
	kind msgKind
	gen  uint64
	pcm  []int16
	str  string
	seq  int
	err  error
	at   time.Time // when an audio frame was handed to the call
	// ext carries the payload of the rarer, larger messages, so that the ring
	// of small messages (mostly audio frames) stays small per call.
	ext *msgExt
}

type msgExt struct {
	stt   pipeline.STTResult
	chunk pipeline.LLMChunk
	tool  toolOutcome
	play  pacing.Event
	// progress is a msgToolProgress report.
	progress toolProgress
	// fallback is a msgFallback switch.
	fallback fallback.Switch
}

type toolOutcome struct {
	call   pipeline.ToolCall
	result plugins.Result
	err    error
	ms     float64
}
