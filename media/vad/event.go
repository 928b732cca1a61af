package vad

import "fmt"

// Event is what a frame changed about the speech state.
type Event int

const (
	// None means the frame changed nothing.
	None Event = iota
	// SpeechStart means speech began; it was detected StartDuration after its onset,
	// and SpeechDuration already counts that time.
	SpeechStart
	// SpeechStop means speech ended: the level has stayed low for StopDuration.
	SpeechStop
	// EndOfTurn means the speaker's turn is over: EndpointSilence has passed since the
	// last voiced frame, and speech has stopped. Only Endpointer reports it; when
	// the frame that ends the speech also ends the turn, EndOfTurn stands for both.
	EndOfTurn
)

// String returns the event's name.
func (e Event) String() string {
	switch e {
	case None:
		return "none"
	case SpeechStart:
		return "speech_start"
	case SpeechStop:
		return "speech_stop"
	case EndOfTurn:
		return "end_of_turn"
	default:
		return fmt.Sprintf("vad.Event(%d)", int(e))
	}
}
