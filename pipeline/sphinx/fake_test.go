package sphinx

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// fakeEngines is an engine factory whose engines "recognise" how much audio
// they heard, and which counts engines created and freed.
type fakeEngines struct {
	mu      sync.Mutex
	created int
	freed   int
	live    map[*fakeEngine]bool
	failNew error
}

func (f *fakeEngines) new(g *grammar) (engine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNew != nil {
		return nil, f.failNew
	}
	f.created++
	e := &fakeEngine{f: f, g: g}
	if f.live == nil {
		f.live = make(map[*fakeEngine]bool)
	}
	f.live[e] = true
	return e, nil
}

func (f *fakeEngines) counts() (created, freed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created, f.freed
}

type fakeEngine struct {
	f       *fakeEngines
	g       *grammar
	inUtt   bool
	samples int
}

func (e *fakeEngine) startUtterance() error {
	if e.inUtt {
		return errors.New("fake: utterance already started")
	}
	e.inUtt, e.samples = true, 0
	return nil
}

func (e *fakeEngine) process(pcm []int16) error {
	if !e.inUtt {
		return errors.New("fake: process outside an utterance")
	}
	e.samples += len(pcm)
	return nil
}

func (e *fakeEngine) partial() string {
	return fmt.Sprintf("%s %d", e.g.phrases[0], e.samples/(SampleRate/10))
}

func (e *fakeEngine) endUtterance() (string, float64, error) {
	if !e.inUtt {
		return "", 0, errors.New("fake: end outside an utterance")
	}
	e.inUtt = false
	return fmt.Sprintf("%s %d", e.g.phrases[0], e.samples), 0.5, nil
}

func (e *fakeEngine) free() {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	if !e.f.live[e] {
		panic("fake: engine freed twice")
	}
	delete(e.f.live, e)
	e.f.freed++
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// collector is a sink that records results and lets tests wait for finals.
type collector struct {
	mu      sync.Mutex
	results []pipeline.STTResult
	finals  chan pipeline.STTResult
}

func newCollector() *collector { return &collector{finals: make(chan pipeline.STTResult, 16)} }

func (c *collector) sink(r pipeline.STTResult) {
	c.mu.Lock()
	c.results = append(c.results, r)
	c.mu.Unlock()
	if r.Kind == pipeline.STTFinal {
		c.finals <- r
	}
}

func (c *collector) all() []pipeline.STTResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]pipeline.STTResult(nil), c.results...)
}

func (c *collector) waitFinal(t testing.TB) pipeline.STTResult {
	t.Helper()
	select {
	case r := <-c.finals:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no final result within 10 s")
		return pipeline.STTResult{}
	}
}

func (c *collector) noFinal(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case r := <-c.finals:
		t.Fatalf("unexpected final %+v", r)
	case <-time.After(wait):
	}
}

var frame = make([]int16, 320) // 20 ms at 16 kHz

func writeFrames(t *testing.T, s pipeline.STTStream, n int) {
	t.Helper()
	for range n {
		if err := s.Write(frame); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
}
