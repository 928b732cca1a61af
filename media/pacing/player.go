package pacing

import (
	"fmt"
	"sync"
	"time"

	"github.com/parley-voice/parley/media"
)

// MaxLag is how far behind schedule the player may fall before it gives up on the
// missed time: within MaxLag it catches up by writing the overdue frames at once;
// beyond it, it restarts the schedule from now, so the transport never receives a
// long burst.
const MaxLag = 3 * media.FrameDuration

// Player writes queued audio segments to a transport in real time, one frame per
// 20 ms, from its own goroutine. All methods are safe for concurrent use.
//
// Lock order: writeMu, then mu.
type Player struct {
	cfg Config
	spf int           // samples per frame
	fd  time.Duration // frame duration

	// writeMu is held by the goroutine from taking a frame until its write and
	// events are done, so Clear and Pause, which take it too, wait for an
	// in-flight write and leave no frame half taken.
	writeMu sync.Mutex
	scratch []int16 // padded last frame of a segment; guarded by writeMu

	mu         sync.Mutex
	queue      []queued // queue[head:] is pending; queue[head] is playing
	head       int
	paused     bool
	interrupts int // Clear or Pause calls waiting for writeMu: write nothing new
	closed     bool
	reanchor   bool      // restart the schedule at the next frame
	idle       bool      // the queue ran dry; the schedule may or may not continue
	start      time.Time // schedule anchor: frame n plays at start + n*fd
	n          int64     // next frame's index on the schedule
	stats      Stats
	hist       histogram

	wake      chan struct{} // one-slot: something changed, recompute
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type queued struct {
	seg     Segment
	played  int
	started bool
}

// NewPlayer validates cfg and starts the player's goroutine; Close stops it.
func NewPlayer(cfg Config) (*Player, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	spf := media.SamplesPerFrame(cfg.SampleRate)
	p := &Player{
		cfg:      cfg,
		spf:      spf,
		fd:       media.FrameDuration,
		scratch:  make([]int16, spf),
		reanchor: true,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go p.run()
	return p, nil
}

// Enqueue appends seg to the queue; the player owns seg.PCM from now on. It never
// blocks. After Close it drops seg.
func (p *Player) Enqueue(seg Segment) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.queue = append(p.queue, queued{seg: seg})
	p.mu.Unlock()
	p.poke()
}

// Clear drops everything queued, including the rest of the segment being played,
// and returns the progress of every segment that had not finished, in queue order
// (PlayedSamples may be 0). It waits for a Write in progress; once it returns, no
// further frame of those segments is written. The next segment enqueued starts
// at once, on a new schedule. Clear does not end a Pause.
func (p *Player) Clear() []SegmentProgress {
	p.interrupt()
	defer p.endInterrupt()
	var out []SegmentProgress
	if pending := p.queue[p.head:]; len(pending) > 0 {
		out = make([]SegmentProgress, len(pending))
		for i, q := range pending {
			out[i] = SegmentProgress{ID: q.seg.ID, PlayedSamples: q.played, TotalSamples: len(q.seg.PCM)}
		}
	}
	clear(p.queue)
	p.queue, p.head = p.queue[:0], 0
	p.reanchor = true
	return out
}

// interrupt takes both locks for Clear or Pause, first telling the goroutine not
// to start another frame, so an in-flight Write is the last one it waits for.
func (p *Player) interrupt() {
	p.mu.Lock()
	p.interrupts++
	p.mu.Unlock()
	p.writeMu.Lock()
	p.mu.Lock()
}

// endInterrupt releases what interrupt took and wakes the goroutine.
func (p *Player) endInterrupt() {
	p.interrupts--
	p.mu.Unlock()
	p.writeMu.Unlock()
	p.poke()
}

// Pause stops writing frames, keeping the queue and the position in the current
// segment; like Clear, it waits for a Write in progress, and no frame is written
// after it returns until Resume.
func (p *Player) Pause() {
	p.interrupt()
	p.paused = true
	p.endInterrupt()
}

// Resume ends a Pause: playing continues where it stopped, on a new schedule
// starting now. Without a Pause it does nothing.
func (p *Player) Resume() {
	p.mu.Lock()
	wasPaused := p.paused
	if wasPaused {
		p.paused = false
		p.reanchor = true
	}
	p.mu.Unlock()
	if wasPaused {
		p.poke()
	}
}

// Playing reports whether audio is queued or being played, paused or not.
func (p *Player) Playing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.head < len(p.queue)
}

// Stats returns the player's counters and lateness percentiles so far.
func (p *Player) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.LatenessP50 = p.hist.quantile(0.50)
	s.LatenessP99 = p.hist.quantile(0.99)
	s.LatenessMax = p.hist.max
	return s
}

// Close stops the player and waits for its goroutine, including a Write in
// progress. Queued audio is dropped without events. Close is idempotent.
func (p *Player) Close() {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.quit)
	})
	<-p.done
}

// poke wakes the goroutine without blocking.
func (p *Player) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run is the player's goroutine: write what is due, then sleep until the next
// frame is due or something changes; with nothing to play, block without a timer.
func (p *Player) run() {
	defer close(p.done)
	timer := p.cfg.Clock.NewTimer(time.Hour)
	timer.Stop()
	for {
		wait, idle := p.step()
		switch {
		case idle:
			select {
			case <-p.wake:
			case <-p.quit:
				return
			}
		case wait <= 0:
			select {
			case <-p.quit:
				return
			default:
			}
		default:
			timer.Reset(wait)
			select {
			case <-timer.C():
			case <-p.wake:
				timer.Stop()
			case <-p.quit:
				timer.Stop()
				return
			}
		}
	}
}

// step writes the next frame if it is due. It returns how long until it will be
// due, or idle when there is nothing to play.
func (p *Player) step() (wait time.Duration, idle bool) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	var evs [3]Event
	ne := 0

	p.mu.Lock()
	if p.interrupts > 0 {
		// Let Clear or Pause in; it pokes when done.
		p.mu.Unlock()
		return 0, true
	}
	if p.paused || p.head == len(p.queue) {
		p.idle = true
		p.mu.Unlock()
		return 0, true
	}
	q := &p.queue[p.head]
	if len(q.seg.PCM) == 0 {
		// Nothing to write: report it and move on.
		evs[0] = Event{Kind: SegmentStarted, SegmentID: q.seg.ID}
		evs[1] = Event{Kind: SegmentDone, SegmentID: q.seg.ID}
		ne = 2 + p.pop(&evs[2])
		p.mu.Unlock()
		p.emit(evs[:ne])
		return 0, false
	}

	now := p.cfg.Clock.Now()
	lead := int64(p.cfg.Lead)
	resumed := p.idle
	if p.reanchor || (p.idle && now.After(p.playAt(p.n))) {
		// A new schedule after Clear or Resume, or after the transport has
		// played everything it had. Otherwise, after a short gap in the queue,
		// the old schedule goes on seamlessly.
		p.start, p.n = now, 0
	}
	p.reanchor, p.idle = false, false
	due := p.playAt(max(p.n-lead, 0))
	if resumed && due.Before(now) {
		due = now // the data was not there before: not late
	}
	if now.Before(due) {
		p.mu.Unlock()
		return due.Sub(now), false
	}
	late := now.Sub(due)
	switch {
	case late > MaxLag:
		p.stats.Reanchors++
		p.stats.Underruns++
		p.start, p.n = now, 0
	case now.After(p.playAt(p.n)):
		p.stats.Underruns++
	}
	p.hist.record(late)

	if !q.started {
		q.started = true
		evs[ne] = Event{Kind: SegmentStarted, SegmentID: q.seg.ID}
		ne++
	}
	frame := q.seg.PCM[q.played:]
	samples := min(len(frame), p.spf)
	if samples < p.spf {
		copy(p.scratch, frame)
		clear(p.scratch[samples:])
		frame = p.scratch
	} else {
		frame = frame[:p.spf]
	}
	p.n++
	p.stats.FramesWritten++
	p.mu.Unlock()
	p.emit(evs[:ne])

	err := p.cfg.Write(frame)

	p.mu.Lock()
	// Enqueue may have moved the queue; Clear and Pause could not run (writeMu).
	q = &p.queue[p.head]
	ne = 0
	switch {
	case err != nil:
		p.stats.WriteErrors++
		evs[0] = Event{Kind: WriteError, SegmentID: q.seg.ID, PlayedSamples: q.played,
			Err: fmt.Errorf("writing frame %d of segment %d: %w", q.played/p.spf, q.seg.ID, err)}
		ne = 1 + p.pop(&evs[1])
	default:
		q.played += samples
		if q.played == len(q.seg.PCM) {
			evs[0] = Event{Kind: SegmentDone, SegmentID: q.seg.ID, PlayedSamples: q.played}
			ne = 1 + p.pop(&evs[1])
		}
	}
	p.mu.Unlock()
	p.emit(evs[:ne])
	return 0, false
}

// playAt is when frame n of the current schedule should start playing.
func (p *Player) playAt(n int64) time.Time {
	return p.start.Add(time.Duration(n) * p.fd)
}

// pop removes the head segment. If that empties the queue it stores a Drained
// event in *ev and returns 1, else 0. Called with writeMu and mu held.
func (p *Player) pop(ev *Event) int {
	p.queue[p.head] = queued{} // release the PCM
	p.head++
	switch {
	case p.head == len(p.queue):
		p.queue, p.head = p.queue[:0], 0
		*ev = Event{Kind: Drained}
		return 1
	case p.head >= 32 && 2*p.head >= len(p.queue):
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	return 0
}

// emit delivers events in order; called with writeMu held and mu not held.
func (p *Player) emit(evs []Event) {
	for _, ev := range evs {
		p.cfg.OnEvent(ev)
	}
}
