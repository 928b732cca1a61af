package telnyx

// reorderWindow is how many messages may be held waiting for a missing one
// (100 ms of 20 ms frames). Beyond it the gap is skipped.
const reorderWindow = 5

// reorderer puts media payloads back in sequence_number order. Every message
// with a sequence number goes through it, media or not, so the numbers other
// events use do not look like gaps. Not safe for concurrent use.
type reorderer struct {
	next    uint64
	started bool
	held    map[uint64]held
	late    uint64 // messages that came after their turn and were dropped
	skipped uint64 // missing numbers given up on
}

type held struct {
	media   bool
	payload []byte
}

func newReorderer() *reorderer { return &reorderer{held: map[uint64]held{}} }

// begin sets the number expected next (the one after start's).
func (r *reorderer) begin(next uint64) { r.next, r.started = next, true }

// push takes message seq (with its payload when it is media) and calls emit
// with every media payload now in order. It reports false for a late or
// repeated message, which is dropped.
func (r *reorderer) push(seq uint64, media bool, payload []byte, emit func([]byte)) bool {
	if !r.started {
		r.begin(seq)
	}
	if _, dup := r.held[seq]; dup || seq < r.next {
		r.late++
		return false
	}
	r.held[seq] = held{media: media, payload: payload}
	r.release(emit)
	for len(r.held) > reorderWindow {
		// Give up on the gap: jump to the oldest message held.
		lowest := r.next
		for s := range r.held {
			if lowest == r.next || s < lowest {
				lowest = s
			}
		}
		r.skipped += lowest - r.next
		r.next = lowest
		r.release(emit)
	}
	return true
}

func (r *reorderer) release(emit func([]byte)) {
	for {
		h, ok := r.held[r.next]
		if !ok {
			return
		}
		delete(r.held, r.next)
		r.next++
		if h.media {
			emit(h.payload)
		}
	}
}
