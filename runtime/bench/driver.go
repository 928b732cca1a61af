package bench

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/runtime/call"
)

// callerState is where a simulated caller is in its script.
type callerState uint8

const (
	waiting  callerState = iota // line noise until the agent has spoken and gone quiet
	speaking                    // the utterance
	trailing                    // line noise until the endpointing silence is complete
)

// stallAfter is how long a caller waits for a reply before speaking anyway.
const stallAfter = 10 * time.Second

// caller is one simulated caller; a driver shard owns it.
type caller struct {
	call atomic.Pointer[call.Call]
	conn *conn

	slot      int // which millisecond of the 20 ms period its frames are sent in
	state     callerState
	i         int    // frame index within the state
	noise     int    // next noise frame
	mark      uint64 // agent frames written when the caller's turn ended
	waitSince int64
	pause     int64 // agent silence to wait for before speaking, ns
}

// shard is one driver goroutine: every millisecond it sends a frame to the
// callers whose slot it is, so each caller gets one frame per 20 ms and the
// calls' frames are spread over the period as network arrivals would be.
type shard struct {
	rec       *recorder
	sc        *script
	rng       *rand.Rand
	slots     [int(media.FrameDuration / tick)][]*caller
	eotFrames int
	pause     time.Duration
	framesIn  atomic.Uint64
}

const tick = time.Millisecond

// run drives the shard's callers until stop is closed. Ticks are scheduled on
// absolute deadlines; a shard that falls behind sends the overdue frames at once
// and records how late they were.
func (s *shard) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := s.rec.now()
	for t := 0; ; t++ {
		now := s.rec.now()
		if wait := next - now; wait > 0 {
			timer.Reset(time.Duration(wait))
			select {
			case <-stop:
				return
			case <-timer.C:
			}
			now = s.rec.now()
		} else {
			select {
			case <-stop:
				return
			default:
			}
		}
		if s.rec.measuring.Load() {
			s.rec.driverLate.record(time.Duration(now - next))
		}
		for _, c := range s.slots[t%len(s.slots)] {
			s.step(c, now)
		}
		next += int64(tick)
	}
}

// step sends caller c its next frame and advances its script.
func (s *shard) step(c *caller, now int64) {
	cl := c.call.Load()
	if cl == nil {
		return
	}
	if c.state == waiting {
		spoke := c.conn.frames.Load() > c.mark
		quiet := now-c.conn.lastWrite.Load() >= c.pause
		if spoke && quiet || now-c.waitSince > int64(stallAfter) {
			if !spoke && s.rec.measuring.Load() {
				s.rec.stalls.Add(1)
			}
			c.state, c.i = speaking, 0
		}
	}
	var src []int16
	eot := false
	switch c.state {
	case speaking:
		src = s.sc.speech[c.i]
		c.i++
		if c.i == len(s.sc.speech) {
			c.state, c.i = trailing, 0
		}
	case trailing:
		src = s.nextNoise(c)
		c.i++
		eot = c.i == s.eotFrames
	default:
		src = s.nextNoise(c)
	}
	f := make([]int16, len(src))
	copy(f, src)
	if eot {
		c.mark = c.conn.frames.Load()
		c.conn.eotAt.Store(s.rec.now())
		c.state, c.i = waiting, 0
		c.waitSince = now
		c.pause = s.drawPause()
	}
	cl.Audio(f)
	s.framesIn.Add(1)
}

func (s *shard) nextNoise(c *caller) []int16 {
	f := s.sc.noise[c.noise]
	c.noise = (c.noise + 1) % len(s.sc.noise)
	return f
}

// drawPause picks a pause uniformly in [Pause/2, 3*Pause/2].
func (s *shard) drawPause() int64 {
	p := int64(s.pause)
	return p/2 + s.rng.Int64N(p+1)
}
