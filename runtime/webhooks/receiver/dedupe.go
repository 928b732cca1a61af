package receiver

import (
	"container/list"
	"sync"
	"time"
)

// idState is what the cache knows of a webhook-id.
type idState uint8

const (
	stateNone    idState = iota
	stateClaimed         // a request is processing it
	stateDone            // the application processed it
)

type idEntry struct {
	id      string
	state   idState
	token   uint64 // identifies the claim, so a stale Release cannot drop a newer one
	expires time.Time
}

// idCache remembers recent webhook-ids, bounded in count and in time. Entries
// are kept in a list by last update, oldest first; when the cache is full the
// oldest goes, whatever its state. Expired entries are dropped lazily: on lookup,
// and a few at a time from the old end.
type idCache struct {
	mu       sync.Mutex
	capacity int
	ttl      time.Duration // how long a processed id is remembered
	claimTTL time.Duration // how long a claim holds without Done or Release
	byID     map[string]*list.Element
	order    *list.List // of *idEntry, oldest update first
	tokens   uint64
}

func newIDCache(capacity int, ttl, claimTTL time.Duration) *idCache {
	return &idCache{
		capacity: capacity, ttl: ttl, claimTTL: claimTTL,
		byID: make(map[string]*list.Element), order: list.New(),
	}
}

// claim marks id as being processed, unless it is already claimed or done: then
// it returns that state and no token.
func (c *idCache) claim(id string, now time.Time) (idState, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if el, ok := c.byID[id]; ok {
		e := el.Value.(*idEntry)
		if now.Before(e.expires) {
			return e.state, 0
		}
		c.remove(el)
	}
	c.tokens++
	c.insert(&idEntry{id: id, state: stateClaimed, token: c.tokens, expires: now.Add(c.claimTTL)})
	return stateNone, c.tokens
}

// done records id as processed for the TTL, replacing any claim on it.
func (c *idCache) done(id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		c.remove(el)
	}
	c.insert(&idEntry{id: id, state: stateDone, expires: now.Add(c.ttl)})
	c.sweep(now)
}

// release forgets a claim, so that a retry is processed. A processed id stays
// processed; with a token, only that claim is released.
func (c *idCache) release(id string, token uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return
	}
	if e := el.Value.(*idEntry); e.state == stateClaimed && (token == 0 || token == e.token) {
		c.remove(el)
	}
}

// len reports the number of ids held, expired ones included.
func (c *idCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}

func (c *idCache) insert(e *idEntry) {
	c.byID[e.id] = c.order.PushBack(e)
	for len(c.byID) > c.capacity {
		c.remove(c.order.Front())
	}
}

func (c *idCache) remove(el *list.Element) {
	delete(c.byID, el.Value.(*idEntry).id)
	c.order.Remove(el)
}

// sweepBatch bounds the work one call does on expired entries.
const sweepBatch = 16

func (c *idCache) sweep(now time.Time) {
	for i := 0; i < sweepBatch; i++ {
		el := c.order.Front()
		if el == nil || now.Before(el.Value.(*idEntry).expires) {
			return
		}
		c.remove(el)
	}
}
