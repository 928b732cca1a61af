package bench

import (
	"sync/atomic"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/runtime/call"
)

// spurtGap separates the agent's talkspurts: a longer gap between two frames
// starts a new pacing grid. It is well above the player's MaxLag, so a frame
// that is merely late is measured as late, not taken as a new start.
const spurtGap = 250 * time.Millisecond

const frameNS = int64(media.FrameDuration)

// conn is the bench's transport: it counts the agent's frames and times them
// against an ideal 20 ms grid, without touching the audio. The driver reads
// frames and lastWrite to follow the conversation.
type conn struct {
	rec *recorder

	frames    atomic.Uint64
	lastWrite atomic.Int64 // recorder clock of the last frame; 0 = none yet
	// eotAt is when the driver posted the frame that completes the caller's
	// endpointing silence; the next frame written is the reply's first.
	eotAt  atomic.Int64
	closed atomic.Bool

	// Owned by the call's player goroutine (the only caller of WriteFrame).
	prev   int64 // time of the previous frame
	k      int64 // index of the frame in the current talkspurt
	minOff int64 // earliest grid offset seen in the talkspurt
}

// WriteFrame records the frame's time; it never fails and never blocks.
func (c *conn) WriteFrame(pcm []int16) error {
	r := c.rec
	now := r.now()
	c.frames.Add(1)
	c.lastWrite.Store(now)
	measuring := r.measuring.Load()
	if e := c.eotAt.Load(); e != 0 && c.eotAt.CompareAndSwap(e, 0) && measuring {
		r.callerSide.add(time.Duration(now - e))
	}
	gap := now - c.prev
	if c.prev == 0 || gap > int64(spurtGap) {
		// A new talkspurt. With the player's one-frame lead, frames 0 and 1 go
		// out together and frame k≥1 is due at start+(k-1)*20ms: the grid is
		// anchored on frame 1 onwards, at the earliest offset seen.
		c.prev, c.k = now, 0
		return nil
	}
	c.prev = now
	c.k++
	off := now - c.k*frameNS
	if c.k == 1 || off < c.minOff {
		c.minOff = off
	}
	if measuring {
		r.outLate.record(time.Duration(off - c.minOff))
		if c.k >= 2 {
			r.outJitter.record(time.Duration(abs(gap - frameNS)))
		}
	}
	return nil
}

// Clear is a no-op: the bench's caller never barges in.
func (c *conn) Clear() error { return nil }

// Close marks the connection closed.
func (c *conn) Close(reason string) error {
	c.closed.Store(true)
	return nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

var _ call.Conn = (*conn)(nil)
