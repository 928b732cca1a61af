package events

import (
	"path"
	"sync"
	"sync/atomic"
)

// Bus fans events out to subscribers in process. Publish never blocks: each
// subscriber has a bounded buffer, and events that do not fit are counted as
// dropped for that subscriber (Subscription.Dropped) instead of stalling the call.
// Durable delivery is the webhook dispatcher's job, which subscribes with Sink.
type Bus struct {
	mu     sync.RWMutex
	subs   []*Subscription
	sinks  []Sink
	closed bool
}

// Sink receives every event synchronously on the publisher's goroutine. It must
// not block (the durable dispatcher copies into its own bounded buffer).
type Sink interface {
	Accept(e *Event)
}

// Subscription is a bounded stream of events matching a filter.
type Subscription struct {
	bus     *Bus
	filter  []string
	callID  string
	c       chan *Event
	dropped atomic.Uint64
	once    sync.Once
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{} }

// Subscribe returns a subscription receiving events whose type matches one of the
// glob patterns (path.Match syntax, e.g. "call.*"; none means all), buffering up
// to size events. callID, when not empty, restricts it to one call.
func (b *Bus) Subscribe(size int, callID string, patterns ...string) *Subscription {
	if size <= 0 {
		size = 1024
	}
	s := &Subscription{bus: b, filter: patterns, callID: callID, c: make(chan *Event, size)}
	b.mu.Lock()
	if b.closed {
		// Through once, so that a later s.Close does not close the channel again.
		s.once.Do(func() { close(s.c) })
	} else {
		b.subs = append(b.subs, s)
	}
	b.mu.Unlock()
	return s
}

// AddSink registers a synchronous sink.
func (b *Bus) AddSink(s Sink) {
	b.mu.Lock()
	b.sinks = append(b.sinks, s)
	b.mu.Unlock()
}

// Publish hands e to every sink and matching subscriber without blocking.
func (b *Bus) Publish(e *Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return
	}
	for _, s := range b.sinks {
		s.Accept(e)
	}
	for _, s := range b.subs {
		if !s.matches(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// Close closes every subscription channel. Publish after Close is a no-op.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	for _, s := range b.subs {
		s.once.Do(func() { close(s.c) })
	}
	b.subs = nil
}

// C returns the channel of events; it is closed by Close or Unsubscribe.
func (s *Subscription) C() <-chan *Event { return s.c }

// Dropped reports how many events did not fit in the buffer.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close unsubscribes and closes the channel. Idempotent.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i], b.subs[i+1:]...)
			break
		}
	}
	b.mu.Unlock()
	s.once.Do(func() { close(s.c) })
}

func (s *Subscription) matches(e *Event) bool {
	if s.callID != "" && e.CallID != s.callID {
		return false
	}
	if len(s.filter) == 0 {
		return true
	}
	for _, p := range s.filter {
		if Match(p, e.Type) {
			return true
		}
	}
	return false
}

// Match reports whether the event type matches a glob pattern ("call.*", "*").
func Match(pattern, eventType string) bool {
	if pattern == "*" || pattern == eventType {
		return true
	}
	ok, err := path.Match(pattern, eventType)
	return err == nil && ok
}
