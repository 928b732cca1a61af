package sphinx

import (
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// maxUnusedGrammars bounds the grammars remembered while no stream uses them and
// no decoder is loaded with them, so that agents reloaded with new phrases do
// not grow the pool without end.
const maxUnusedGrammars = 64

// errStopped is returned by acquire when the caller gave up waiting.
var errStopped = errors.New("sphinx: stopped waiting for a decoder")

// decoder is a pooled engine and the grammar it was loaded with.
type decoder struct {
	eng       engine
	g         *grammar
	idleSince time.Time
}

// pool owns every decoder. It bounds decoders per grammar (perGrammar) and in
// total (maxTotal), creates them lazily, reuses idle ones, and evicts the
// longest idle decoder of another grammar when the total bound is reached.
// Requests that cannot be served wait in FIFO order; a waiter that cannot be
// served yet does not hold back those behind it.
type pool struct {
	newEngine  engineFactory
	perGrammar int
	maxTotal   int
	log        *slog.Logger

	// createMu serialises decoder creation: PocketSphinx initialisation touches
	// process-wide state (its logging hooks), and creation is rare.
	createMu sync.Mutex

	mu       sync.Mutex
	grammars map[string]*grammar
	total    int // decoders that exist or are being created
	waiters  []*waiter
	closed   bool
}

// waiter is one acquire call waiting for a decoder.
type waiter struct {
	g  *grammar
	ch chan grant // buffered, receives exactly one grant
}

// grant is what a waiter receives: an idle decoder, or the right to create one
// (after freeing an evicted decoder of another grammar, if any), or an error.
type grant struct {
	d      *decoder
	g      *grammar // the grammar to create a decoder for
	create bool
	evict  *decoder
	err    error
}

func newPool(newEngine engineFactory, perGrammar, maxTotal int, log *slog.Logger) *pool {
	return &pool{
		newEngine:  newEngine,
		perGrammar: perGrammar,
		maxTotal:   maxTotal,
		log:        log,
		grammars:   make(map[string]*grammar),
	}
}

// grammar returns the pool's grammar for key, building it with build the first
// time, and counts one more user; the user calls unref when done.
func (p *pool) grammar(key string, build func() (*grammar, error)) (*grammar, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if g, ok := p.grammars[key]; ok {
		g.refs++
		p.mu.Unlock()
		return g, nil
	}
	p.mu.Unlock()

	g, err := build() // outside the lock: it reads the dictionary
	if err != nil {
		return nil, err
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if existing, ok := p.grammars[key]; ok { // built concurrently by another stream
		existing.refs++
		return existing, nil
	}
	p.pruneLocked()
	g.refs = 1
	p.grammars[key] = g
	return g, nil
}

// unref drops one user of g.
func (p *pool) unref(g *grammar) {
	p.mu.Lock()
	g.refs--
	p.mu.Unlock()
}

// pruneLocked forgets unused grammars without decoders beyond maxUnusedGrammars.
func (p *pool) pruneLocked() {
	unused := 0
	for _, g := range p.grammars {
		if g.refs == 0 && g.live == 0 {
			unused++
		}
	}
	for key, g := range p.grammars {
		if unused < maxUnusedGrammars {
			return
		}
		if g.refs == 0 && g.live == 0 {
			delete(p.grammars, key)
			unused--
		}
	}
}

// acquire returns a decoder for g, waiting until one is free or may be
// created. It returns errStopped when stop is closed first.
func (p *pool) acquire(stop <-chan struct{}, g *grammar) (*decoder, error) {
	w := &waiter{g: g, ch: make(chan grant, 1)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.waiters = append(p.waiters, w)
	p.dispatchLocked()
	p.mu.Unlock()

	var gr grant
	select {
	case gr = <-w.ch:
	case <-stop:
		p.mu.Lock()
		if p.removeWaiterLocked(w) {
			p.mu.Unlock()
			return nil, errStopped
		}
		p.mu.Unlock()
		// Served while we gave up: hand the grant back.
		p.giveBack(<-w.ch)
		return nil, errStopped
	}
	return p.realize(g, gr)
}

// realize turns a grant into a decoder, creating one if needed.
func (p *pool) realize(g *grammar, gr grant) (*decoder, error) {
	if gr.err != nil {
		return nil, gr.err
	}
	if gr.evict != nil {
		p.log.Debug("sphinx: freeing an idle decoder of another grammar to make room", "grammar", gr.evict.g.key)
		gr.evict.eng.free()
	}
	if gr.d != nil {
		return gr.d, nil
	}
	start := time.Now()
	p.createMu.Lock()
	eng, err := p.newEngine(g)
	p.createMu.Unlock()
	if err != nil {
		p.mu.Lock()
		g.live--
		p.total--
		p.dispatchLocked()
		p.mu.Unlock()
		return nil, err
	}
	p.log.Debug("sphinx: decoder created", "grammar", g.key, "took", time.Since(start))
	return &decoder{eng: eng, g: g}, nil
}

// giveBack returns a grant its waiter no longer wants.
func (p *pool) giveBack(gr grant) {
	switch {
	case gr.err != nil:
	case gr.d != nil:
		p.release(gr.d)
	case gr.create:
		if gr.evict != nil {
			gr.evict.eng.free()
		}
		p.mu.Lock()
		gr.g.live--
		p.total--
		p.dispatchLocked()
		p.mu.Unlock()
	}
}

// release returns a healthy decoder after its utterance ended.
func (p *pool) release(d *decoder) {
	p.mu.Lock()
	if p.closed {
		d.g.live--
		p.total--
		p.mu.Unlock()
		d.eng.free()
		return
	}
	d.idleSince = time.Now()
	d.g.idle = append(d.g.idle, d)
	p.dispatchLocked()
	p.mu.Unlock()
}

// discard frees a decoder that may be in a bad state instead of reusing it.
func (p *pool) discard(d *decoder) {
	p.mu.Lock()
	d.g.live--
	p.total--
	p.dispatchLocked()
	p.mu.Unlock()
	d.eng.free()
}

// dispatchLocked serves waiters in FIFO order with whatever is available,
// skipping those that cannot be served yet.
func (p *pool) dispatchLocked() {
	kept := p.waiters[:0]
	for _, w := range p.waiters {
		if gr, ok := p.grantLocked(w.g); ok {
			w.ch <- gr
			continue
		}
		kept = append(kept, w)
	}
	clear(p.waiters[len(kept):])
	p.waiters = kept
}

// grantLocked finds a decoder for g: an idle one (the most recently used),
// else room for a new one under both bounds, else room made by evicting the
// longest idle decoder of another grammar.
func (p *pool) grantLocked(g *grammar) (grant, bool) {
	if n := len(g.idle); n > 0 {
		d := g.idle[n-1]
		g.idle[n-1] = nil
		g.idle = g.idle[:n-1]
		return grant{d: d}, true
	}
	if g.live >= p.perGrammar {
		return grant{}, false
	}
	if p.total < p.maxTotal {
		g.live++
		p.total++
		return grant{g: g, create: true}, true
	}
	victim := p.oldestIdleLocked()
	if victim == nil {
		return grant{}, false
	}
	vg := victim.g
	i := slices.Index(vg.idle, victim)
	vg.idle = slices.Delete(vg.idle, i, i+1)
	vg.live--
	g.live++
	return grant{g: g, create: true, evict: victim}, true
}

func (p *pool) oldestIdleLocked() *decoder {
	var oldest *decoder
	for _, g := range p.grammars {
		for _, d := range g.idle {
			if oldest == nil || d.idleSince.Before(oldest.idleSince) {
				oldest = d
			}
		}
	}
	return oldest
}

func (p *pool) removeWaiterLocked(w *waiter) bool {
	i := slices.Index(p.waiters, w)
	if i < 0 {
		return false
	}
	p.waiters = slices.Delete(p.waiters, i, i+1)
	return true
}

// stats reports decoder counts for tests and metrics.
func (p *pool) stats() (total, idle int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.grammars {
		idle += len(g.idle)
	}
	return p.total, idle
}

// close frees the idle decoders and fails the waiters. Decoders in use are
// freed when they are released.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	var idle []*decoder
	for _, g := range p.grammars {
		for _, d := range g.idle {
			g.live--
			p.total--
			idle = append(idle, d)
		}
		g.idle = nil
	}
	for _, w := range p.waiters {
		w.ch <- grant{err: ErrClosed}
	}
	p.waiters = nil
	p.mu.Unlock()
	for _, d := range idle {
		d.eng.free()
	}
}
