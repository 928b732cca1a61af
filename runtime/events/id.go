package events

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var idSource = struct {
	sync.Mutex
	entropy *ulid.MonotonicEntropy
}{entropy: ulid.Monotonic(rand.Reader, 0)}

func NewULID(t time.Time) string {
	idSource.Lock()
	id, err := ulid.New(ulid.Timestamp(t), idSource.entropy)
	if err != nil {
		idSource.entropy = ulid.Monotonic(rand.Reader, 0)
		id = ulid.MustNew(ulid.Timestamp(t), idSource.entropy)
	}
	idSource.Unlock()
	return id.String()
}

func NewEventID(t time.Time) string { return "evt_" + NewULID(t) }
func NewCallID(t time.Time) string { return "call_" + NewULID(t) }
