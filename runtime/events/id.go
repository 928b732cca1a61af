package events

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// idSource makes ULIDs that are unique and sortable across the process, even for
// ids minted in the same millisecond (monotonic entropy). last is the millisecond
// of the previous id. A time up to maxHoldBack earlier than it is moved up to it,
// so that a caller who read the clock before another one but took the lock after
// it still gets a later id, and ids sort in the order they were minted. A clock
// stepped back further than that is followed.
var idSource = struct {
	sync.Mutex
	entropy *ulid.MonotonicEntropy
	last    uint64
}{entropy: ulid.Monotonic(rand.Reader, 0)}

// maxHoldBack is how far, in milliseconds, an id's time may be moved forward to
// keep ids in minting order.
const maxHoldBack = 1000

// NewULID returns a new ULID string, lexically sortable by creation time. Its time
// is t to the millisecond, or the time of the previous id when t is slightly
// earlier; times outside the range of a ULID are clamped to it.
func NewULID(t time.Time) string {
	ms := uint64(0)
	if t.UnixMilli() > 0 {
		ms = min(uint64(t.UnixMilli()), ulid.MaxTime())
	}
	idSource.Lock()
	defer idSource.Unlock()
	if last := idSource.last; ms < last && last-ms <= maxHoldBack {
		ms = last
	}
	id, err := ulid.New(ms, idSource.entropy)
	if err != nil && ms < ulid.MaxTime() {
		// Monotonic entropy overflowed within one millisecond: move to the next one.
		ms++
		id, err = ulid.New(ms, idSource.entropy)
	}
	if err != nil {
		// The last millisecond a ULID can hold is used up: start over with fresh
		// entropy rather than fail (uniqueness then rests on its 80 random bits).
		idSource.entropy = ulid.Monotonic(rand.Reader, 0)
		id = ulid.MustNew(ms, idSource.entropy)
	}
	idSource.last = ms
	return id.String()
}

// NewEventID returns a new event id ("evt_" + ULID).
func NewEventID(t time.Time) string { return "evt_" + NewULID(t) }

// NewCallID returns a new call id ("call_" + ULID).
func NewCallID(t time.Time) string { return "call_" + NewULID(t) }
