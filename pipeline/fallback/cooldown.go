package fallback

import (
	"sync"
	"time"
)

// DefaultCooldown is how long the server's chains skip a provider that just
// failed over to the next one: long enough that a provider which is down
// does not cost every turn (every sentence, for speech) its first-byte
// deadline again, short enough to return to the preferred provider soon.
const DefaultCooldown = 30 * time.Second

// bench remembers, per provider of a chain, until when it is skipped. It is
// shared by every request through the chain (every call of an agent, for a
// speech chain), so one call's failure spares the others the wait.
type bench struct {
	mu    sync.Mutex
	until []time.Time
}

// skipped reports whether provider i is benched at now.
func (b *bench) skipped(i int, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return i < len(b.until) && now.Before(b.until[i])
}

// sit benches provider i (of n) until t.
func (b *bench) sit(i, n int, t time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.until) < n {
		b.until = append(b.until, make([]time.Time, n-len(b.until))...)
	}
	b.until[i] = t
}

// next is the provider a chain of n moves to after provider i: the next one
// not benched (with cooling on), and the last one in any case.
func (b *bench) next(i, n int, cooling bool) int {
	now := time.Now()
	for j := i + 1; j < n-1; j++ {
		if !cooling || !b.skipped(j, now) {
			return j
		}
	}
	return n - 1
}
