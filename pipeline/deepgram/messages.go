package deepgram

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// message is any JSON text frame Deepgram sends. Channel is an object in
// Results and an array ([index, total]) in UtteranceEnd, so it is decoded lazily.
type message struct {
	Type         string          `json:"type"`
	Channel      json.RawMessage `json:"channel"`
	IsFinal      bool            `json:"is_final"`
	SpeechFinal  bool            `json:"speech_final"`
	FromFinalize bool            `json:"from_finalize"`
	Start        float64         `json:"start"`
	Duration     float64         `json:"duration"`
	// Error messages.
	Variant     string `json:"variant"`
	Description string `json:"description"`
	Message     string `json:"message"`
}

type resultsChannel struct {
	Alternatives []struct {
		Transcript string  `json:"transcript"`
		Confidence float64 `json:"confidence"`
	} `json:"alternatives"`
}

// parse decodes one text frame.
func parse(data []byte) (message, error) {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("deepgram: decoding server message: %w", err)
	}
	return m, nil
}

// best returns the first alternative of a Results message.
func (m message) best() (text string, conf float64) {
	var ch resultsChannel
	if json.Unmarshal(m.Channel, &ch) != nil || len(ch.Alternatives) == 0 {
		return "", 0
	}
	a := ch.Alternatives[0]
	return strings.TrimSpace(a.Transcript), a.Confidence
}

// utterance assembles is_final segments into one final result and decides
// when to emit it. It is owned by the stream's run goroutine.
type utterance struct {
	segs        []string
	confSum     float64
	start, end  float64 // seconds of stream time covered by the segments
	lastPartial string
}

func (u *utterance) text() string { return strings.Join(u.segs, " ") }

func (u *utterance) empty() bool { return len(u.segs) == 0 }

// interim returns the partial text for an is_final:false hypothesis, or ""
// when nothing new should be emitted.
func (u *utterance) interim(t string) string {
	if t == "" {
		return ""
	}
	full := t
	if !u.empty() {
		full = u.text() + " " + t
	}
	if full == u.lastPartial {
		return ""
	}
	u.lastPartial = full
	return full
}

// add appends a finalised segment.
func (u *utterance) add(m message, t string, conf float64) {
	if t == "" {
		return
	}
	if u.empty() {
		u.start = m.Start
	}
	u.segs = append(u.segs, t)
	u.confSum += conf
	u.end = m.Start + m.Duration
}

// final returns the utterance's final result and resets it.
func (u *utterance) final() pipeline.STTResult {
	r := pipeline.STTResult{Kind: pipeline.STTFinal}
	if !u.empty() {
		r.Text = u.text()
		r.Confidence = u.confSum / float64(len(u.segs))
		r.AudioDuration = time.Duration((u.end - u.start) * float64(time.Second))
	}
	*u = utterance{segs: u.segs[:0]}
	return r
}
