package pipeline

import "time"

// Mark is a point in a turn's timeline.
type Mark int

// The marks of a turn, in the order they normally happen.
const (
	MarkUnknown Mark = iota
	MarkSpeechStart
	MarkSpeechEnd
	MarkEndOfTurn
	MarkFinalTranscript
	MarkLLMFirstToken
	MarkFirstSentence
	MarkTTSFirstAudio
	MarkFirstFrameOut
	numMarks
)

var markNames = [...]string{"unknown", "speech_start", "speech_end", "end_of_turn_decided",
	"final_transcript", "llm_first_token", "first_sentence", "tts_first_audio", "first_frame_out"}

func (m Mark) String() string {
	if m < 0 || m >= numMarks {
		return "unknown"
	}
	return markNames[m]
}

// Stage names, as used in budgets and turn.completed breakdowns. Each stage is the
// time between two marks; see Timeline.Stage.
const (
	StageEndOfTurn     = "end_of_turn"
	StageSTTFinal      = "stt_final"
	StageLLMFirstToken = "llm_first_token"
	StageFirstSentence = "first_sentence"
	StageTTSFirstAudio = "tts_first_audio"
	StageFirstFrameOut = "first_frame_out"
)

// Stages lists the stage names in order.
var Stages = []string{StageEndOfTurn, StageSTTFinal, StageLLMFirstToken, StageFirstSentence, StageTTSFirstAudio, StageFirstFrameOut}

var stageMarks = map[string][2]Mark{
	StageEndOfTurn:     {MarkSpeechEnd, MarkEndOfTurn},
	StageSTTFinal:      {MarkEndOfTurn, MarkFinalTranscript},
	StageLLMFirstToken: {MarkFinalTranscript, MarkLLMFirstToken},
	StageFirstSentence: {MarkLLMFirstToken, MarkFirstSentence},
	StageTTSFirstAudio: {MarkFirstSentence, MarkTTSFirstAudio},
	StageFirstFrameOut: {MarkTTSFirstAudio, MarkFirstFrameOut},
}

// StageEnd returns the mark that completes a stage.
func StageEnd(stage string) Mark { return stageMarks[stage][1] }

// Timeline records when each mark of one turn happened. The zero value is ready.
// Endpointing is the configured trailing silence, which the end_of_turn stage
// excludes: that stage measures only the decision's own delay.
type Timeline struct {
	Turn        uint64
	Endpointing time.Duration
	at          [numMarks]time.Time
}

// Set records mark m at t unless it is already set; it reports whether it was set now.
func (tl *Timeline) Set(m Mark, t time.Time) bool {
	if m <= MarkUnknown || m >= numMarks || !tl.at[m].IsZero() {
		return false
	}
	tl.at[m] = t
	return true
}

// At returns when m happened, or the zero time.
func (tl *Timeline) At(m Mark) time.Time {
	if m <= MarkUnknown || m >= numMarks {
		return time.Time{}
	}
	return tl.at[m]
}

// Stage returns the duration of a stage and whether both its marks are set.
func (tl *Timeline) Stage(stage string) (time.Duration, bool) {
	ms, ok := stageMarks[stage]
	if !ok {
		return 0, false
	}
	a, b := tl.at[ms[0]], tl.at[ms[1]]
	if a.IsZero() || b.IsZero() {
		return 0, false
	}
	d := b.Sub(a)
	if stage == StageEndOfTurn {
		d -= tl.Endpointing
		if d < 0 {
			d = 0
		}
	}
	return d, true
}

// ResponseLatency is the caller-perceived delay: end of speech to first audio out.
func (tl *Timeline) ResponseLatency() (time.Duration, bool) {
	a, b := tl.at[MarkSpeechEnd], tl.at[MarkFirstFrameOut]
	if a.IsZero() || b.IsZero() {
		return 0, false
	}
	return b.Sub(a), true
}

// Breakdown returns every completed stage in milliseconds, plus "response" for the
// whole response latency, for the turn.completed event.
func (tl *Timeline) Breakdown() map[string]float64 {
	out := make(map[string]float64, len(Stages)+1)
	for _, s := range Stages {
		if d, ok := tl.Stage(s); ok {
			out[s] = float64(d.Microseconds()) / 1000
		}
	}
	if d, ok := tl.ResponseLatency(); ok {
		out["response"] = float64(d.Microseconds()) / 1000
	}
	return out
}

// Reset clears the timeline for turn n.
func (tl *Timeline) Reset(n uint64, endpointing time.Duration) {
	*tl = Timeline{Turn: n, Endpointing: endpointing}
}
