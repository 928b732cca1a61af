package call

import (
	"sync"
	"sync/atomic"
)

// mailbox is the call actor's inbox: a ring of messages plus a one-slot wake
// channel, so senders (socket readers, provider streams, the player) never block.
// Audio frames are bounded by audioCap; other messages are bounded by hardCap and
// only ever dropped if a call is wedged that badly. Every drop is counted.
type mailbox struct {
	mu       sync.Mutex
	buf      []msg
	head     int
	n        int
	audio    int
	audioCap int
	hardCap  int
	closed   bool
	wake     chan struct{}

	droppedAudio   atomic.Uint64
	droppedControl atomic.Uint64
}

func newMailbox(audioCap, hardCap int) *mailbox {
	return &mailbox{buf: make([]msg, 16), audioCap: audioCap, hardCap: hardCap, wake: make(chan struct{}, 1)}
}

// post enqueues m; it reports false if m was dropped.
func (b *mailbox) post(m msg) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	isAudio := m.kind == msgAudio
	if (isAudio && b.audio >= b.audioCap) || b.n >= b.hardCap {
		b.mu.Unlock()
		if isAudio {
			b.droppedAudio.Add(1)
		} else {
			b.droppedControl.Add(1)
		}
		return false
	}
	if b.n == len(b.buf) {
		grown := make([]msg, len(b.buf)*2)
		for i := 0; i < b.n; i++ {
			grown[i] = b.buf[(b.head+i)%len(b.buf)]
		}
		b.buf, b.head = grown, 0
	}
	b.buf[(b.head+b.n)%len(b.buf)] = m
	b.n++
	if isAudio {
		b.audio++
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

// drain moves every queued message into dst (reused) and returns it.
func (b *mailbox) drain(dst []msg) []msg {
	dst = dst[:0]
	b.mu.Lock()
	for b.n > 0 {
		dst = append(dst, b.buf[b.head])
		b.buf[b.head] = msg{}
		b.head = (b.head + 1) % len(b.buf)
		b.n--
	}
	b.audio = 0
	b.mu.Unlock()
	return dst
}

// close makes further posts fail.
func (b *mailbox) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}
