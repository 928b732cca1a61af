package events

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// idSource makes ULIDs that are unique and sortable across the process, even for
// ids minted in the same millisecond (monotonic entropy).
var idSource = struct {
	sync.Mutex
	entropy *ulid.MonotonicEntropy
}{entropy: ulid.Monotonic(rand.Reader, 0)}

// NewULID returns a new ULID string, lexically sortable by creation time.
func NewULID(t time.Time) string {
	idSource.Lock()
	id, err := ulid.New(ulid.Timestamp(t), idSource.entropy)
	if err != nil {
		// Monotonic entropy overflowed within one millisecond: reseed and retry.
		idSource.entropy = ulid.Monotonic(rand.Reader, 0)
		id = ulid.MustNew(ulid.Timestamp(t), idSource.entropy)
	}
	idSource.Unlock()
	return id.String()
}

// NewEventID returns a new event id ("evt_" + ULID).
func NewEventID(t time.Time) string { return "evt_" + NewULID(t) }

// NewCallID returns a new call id ("call_" + ULID).
func NewCallID(t time.Time) string { return "call_" + NewULID(t) }
