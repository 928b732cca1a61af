package vad

import "fmt"

// Endpointer decides when a speaker's turn is over: it runs a Detector and, once
// speech has started, reports EndOfTurn when the silence after it reaches
// Config.EndpointSilence. Speech that resumes earlier continues the same turn.
type Endpointer struct {
	det    Detector
	inTurn bool
}

// NewEndpointer returns an Endpointer for cfg, or the error from cfg.Validate.
func NewEndpointer(cfg Config) (*Endpointer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("creating VAD endpointer: %w", err)
	}
	e := &Endpointer{det: Detector{cfg: cfg}}
	e.det.Reset()
	return e, nil
}

// Process analyses the next frame and returns the Detector's event, or EndOfTurn
// when the frame completes the turn's trailing silence. It does not allocate.
func (e *Endpointer) Process(frame []int16) Event {
	ev := e.det.Process(frame)
	if ev == SpeechStart {
		e.inTurn = true
	}
	if e.inTurn && !e.det.speaking && e.det.silence >= e.det.cfg.EndpointSilence {
		e.inTurn = false
		return EndOfTurn
	}
	return ev
}

// InTurn reports whether a turn is open: speech has started and its end has not
// been reported yet.
func (e *Endpointer) InTurn() bool { return e.inTurn }

// Detector gives read access to the underlying detector's state (level, noise
// floor, durations). Do not call its Process or Reset; use the Endpointer's.
func (e *Endpointer) Detector() *Detector { return &e.det }

// Reset forgets all audio seen and closes any open turn.
func (e *Endpointer) Reset() {
	e.det.Reset()
	e.inTurn = false
}
