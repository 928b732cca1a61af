package carrier

import (
	"strconv"
	"sync"
)

// MarkPrefix starts the name of every mark Parley sends, so marks can be told
// from anything else a carrier echoes.
const MarkPrefix = "parley-"

// DefaultMarkEvery is how much audio, in samples at CallRate, goes out between
// two marks: 100 ms.
const DefaultMarkEvery = CallRate / 10

// Tracker counts the agent's audio written to a carrier against the audio the
// carrier has confirmed playing through its marks. All counts are samples at
// CallRate. Each mark confirms everything sent before it. A clear drops what was
// not confirmed: the count is kept for ClearedUnheard, pending marks are
// forgotten (when the carrier returns them they mean dropped, not played) and
// counting starts again from zero. Safe for concurrent use.
type Tracker struct {
	mu        sync.Mutex
	every     int
	written   int // samples given to WriteFrame since the last clear
	sent      int // samples whose audio has left in chunks
	lastMark  int // value of sent at the last mark
	confirmed int
	pending   []pendingMark
	seq       uint64
	unheard   int
}

type pendingMark struct {
	name string
	pos  int
}

// NewTracker returns a Tracker that asks for a mark every `every` samples sent
// (DefaultMarkEvery when every <= 0).
func NewTracker(every int) *Tracker {
	if every <= 0 {
		every = DefaultMarkEvery
	}
	return &Tracker{every: every}
}

// Wrote counts n samples accepted by WriteFrame.
func (t *Tracker) Wrote(n int) {
	t.mu.Lock()
	t.written += n
	t.mu.Unlock()
}

// Sent counts n samples whose audio has left, and returns the name of a mark to
// send after it when one is due (empty otherwise).
func (t *Tracker) Sent(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = min(t.sent+n, t.written)
	if t.sent-t.lastMark < t.every {
		return ""
	}
	return t.markLocked()
}

// Tail returns a mark covering everything written since the last mark, when the
// agent has paused after a stretch the periodic marks do not cover yet; empty
// when there is nothing to mark.
func (t *Tracker) Tail() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = t.written
	if t.sent == t.lastMark {
		return ""
	}
	return t.markLocked()
}

func (t *Tracker) markLocked() string {
	t.seq++
	name := MarkPrefix + strconv.FormatUint(t.seq, 10)
	t.pending = append(t.pending, pendingMark{name: name, pos: t.sent})
	t.lastMark = t.sent
	return name
}

// Played records that the carrier played up to the mark called name. It reports
// whether the mark was pending; marks dropped by a clear, repeated or unknown
// change nothing.
func (t *Tracker) Played(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, m := range t.pending {
		if m.name == name {
			t.confirmed = max(t.confirmed, m.pos)
			t.pending = append(t.pending[:0], t.pending[i+1:]...)
			return true
		}
	}
	return false
}

// Clear records that the carrier was told to drop its buffer: what was written
// and not confirmed is counted as unheard, and returns that count.
func (t *Tracker) Clear() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unheard = t.written - t.confirmed
	t.written, t.sent, t.lastMark, t.confirmed = 0, 0, 0, 0
	t.pending = t.pending[:0]
	return t.unheard
}

// ClearedUnheard returns the count recorded by the last Clear.
func (t *Tracker) ClearedUnheard() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unheard
}

// Unconfirmed returns how many samples written since the last clear the carrier
// has not confirmed playing yet.
func (t *Tracker) Unconfirmed() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.written - t.confirmed
}

// Pending returns how many marks await confirmation.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}
