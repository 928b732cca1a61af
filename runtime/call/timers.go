package call

import "time"

// timerSet holds the actor's deadlines; one time.Timer fires for the earliest.
type timerSet struct {
	silence        time.Time // caller silent too long while listening
	falseInterrupt time.Time // barge-in produced no words in time
	watchdog       time.Time // a reply made no progress
	maxDuration    time.Time // the call is too long
	budget         time.Time // a stage budget (filler action) elapses
}

func (t *timerSet) next() time.Time {
	var n time.Time
	for _, d := range [...]time.Time{t.silence, t.falseInterrupt, t.watchdog, t.maxDuration, t.budget} {
		if !d.IsZero() && (n.IsZero() || d.Before(n)) {
			n = d
		}
	}
	return n
}

// prerollRing keeps the last few inbound frames so the start of a word that the
// VAD needed a few frames to confirm still reaches the recogniser.
type prerollRing struct {
	frames [][]int16
	next   int
	full   bool
}

func (p *prerollRing) init(n int) { p.frames = make([][]int16, n) }

func (p *prerollRing) push(f []int16) {
	if len(p.frames) == 0 {
		return
	}
	p.frames[p.next] = f
	p.next = (p.next + 1) % len(p.frames)
	if p.next == 0 {
		p.full = true
	}
}

// each calls fn with the buffered frames oldest first, then empties the ring.
func (p *prerollRing) each(fn func([]int16)) {
	n := len(p.frames)
	start := 0
	if p.full {
		start = p.next
	}
	count := p.next
	if p.full {
		count = n
	}
	for i := 0; i < count; i++ {
		j := (start + i) % n
		if p.frames[j] != nil {
			fn(p.frames[j])
		}
		p.frames[j] = nil
	}
	p.next, p.full = 0, false
}
