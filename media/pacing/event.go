package pacing

import "fmt"

// EventKind says what happened in the player.
type EventKind int

const (
	// EventUnknown is the zero value; the player never sends it.
	EventUnknown EventKind = iota
	// SegmentStarted is sent just before the first frame of a segment is written.
	SegmentStarted
	// SegmentDone is sent after the last frame of a segment was written;
	// PlayedSamples is the segment's length.
	SegmentDone
	// Drained is sent when the queue became empty after playing: every queued frame
	// has been written (the transport may still be playing the last Lead+1).
	Drained
	// WriteError is sent when Write failed. The segment being written is dropped
	// (no SegmentDone follows); PlayedSamples counts what was written before, and
	// the player goes on with the next segment.
	WriteError
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case EventUnknown:
		return "unknown"
	case SegmentStarted:
		return "segment_started"
	case SegmentDone:
		return "segment_done"
	case Drained:
		return "drained"
	case WriteError:
		return "write_error"
	default:
		return fmt.Sprintf("pacing.EventKind(%d)", int(k))
	}
}

// Event reports the player's progress to its owner.
type Event struct {
	Kind EventKind
	// SegmentID is the segment concerned; 0 for Drained.
	SegmentID uint64
	// PlayedSamples is how many of the segment's samples have been written.
	PlayedSamples int
	// Err is the Write error, for WriteError.
	Err error
}

// Segment is a stretch of audio to play. The player owns PCM after Enqueue and
// never modifies it.
type Segment struct {
	// ID identifies the segment in events and progress reports.
	ID uint64
	// PCM is mono audio at the player's sample rate; a last partial frame is padded
	// with silence.
	PCM []int16
}

// SegmentProgress is how far a segment got before it was cleared.
type SegmentProgress struct {
	ID uint64
	// PlayedSamples have been written to the transport (whole frames; a padded
	// last frame counts only its real samples); TotalSamples is len(PCM).
	PlayedSamples, TotalSamples int
}
