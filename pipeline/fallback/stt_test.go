package fallback

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

// scriptedSTT opens scriptedStreams (or fails to open with openErr). Each
// stream answers Finalize with a final saying how many samples it was given
// since the previous final, from the caller of Finalize as pipeline/fake does.
type scriptedSTT struct {
	name    string
	openErr error
	// writeErrAt, when positive, makes the nth Write of each stream fail
	// with writeErr.
	writeErrAt int
	writeErr   error
	// holdFinals makes streams swallow Finalize (a provider that died
	// before answering).
	holdFinals bool

	mu      sync.Mutex
	streams []*scriptedStream
	opened  chan *scriptedStream
}

func newScriptedSTT(name string) *scriptedSTT {
	return &scriptedSTT{name: name, opened: make(chan *scriptedStream, 4)}
}

func (s *scriptedSTT) NewStream(ctx context.Context, cfg pipeline.STTConfig, sink func(pipeline.STTResult)) (pipeline.STTStream, error) {
	if s.openErr != nil {
		return nil, s.openErr
	}
	st := &scriptedStream{owner: s, sink: sink}
	s.mu.Lock()
	s.streams = append(s.streams, st)
	s.mu.Unlock()
	s.opened <- st
	return st, nil
}

type scriptedStream struct {
	owner *scriptedSTT
	sink  func(pipeline.STTResult)

	mu      sync.Mutex
	samples int
	writes  int
	closed  bool
}

func (st *scriptedStream) Write(pcm []int16) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return pipeline.ErrClosed
	}
	st.writes++
	if st.owner.writeErrAt > 0 && st.writes == st.owner.writeErrAt {
		return st.owner.writeErr
	}
	st.samples += len(pcm)
	return nil
}

func (st *scriptedStream) Finalize() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return pipeline.ErrClosed
	}
	if st.owner.holdFinals {
		st.mu.Unlock()
		return nil
	}
	n := st.samples
	st.samples = 0
	st.mu.Unlock()
	st.sink(pipeline.STTResult{Kind: pipeline.STTFinal, Text: fmt.Sprintf("%s heard %d", st.owner.name, n)})
	return nil
}

func (st *scriptedStream) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	return nil
}

func (st *scriptedStream) isClosed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.closed
}

// results collects what a chain passes on.
type results chan pipeline.STTResult

func (r results) next(t *testing.T) pipeline.STTResult {
	t.Helper()
	select {
	case res := <-r:
		return res
	case <-time.After(wait):
		t.Fatal("no result")
		return pipeline.STTResult{}
	}
}

func (r results) none(t *testing.T) {
	t.Helper()
	select {
	case res := <-r:
		t.Fatalf("unexpected result %+v", res)
	default:
	}
}

func frame() []int16 { return make([]int16, 320) }

func openChain(t *testing.T, ctx context.Context, providers ...*scriptedSTT) (pipeline.STTStream, results, chan Switch) {
	t.Helper()
	var named []Named[pipeline.STT]
	for _, p := range providers {
		named = append(named, Named[pipeline.STT]{p.name, p})
	}
	sw := make(chan Switch, 8)
	ctx = WithReporter(ctx, func(s Switch) { sw <- s })
	res := make(results, 16)
	st, err := (&STT{Providers: named}).NewStream(ctx, pipeline.STTConfig{SampleRate: 16000}, func(r pipeline.STTResult) { res <- r })
	if err != nil {
		t.Fatalf("opening: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st, res, sw
}

func TestSTTMovesOnAfterAnErrorAndReplaysTheUtterance(t *testing.T) {
	a, b := newScriptedSTT("a"), newScriptedSTT("b")
	st, res, sw := openChain(t, context.Background(), a, b)
	first := <-a.opened
	for range 3 {
		if err := st.Write(frame()); err != nil {
			t.Fatal(err)
		}
	}
	first.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: retryable(503)})
	s := <-sw
	if s.Stage != "stt" || s.From != "a" || s.To != "b" || !pipeline.ShouldFallback(s.Err) {
		t.Fatalf("switch %+v", s)
	}
	// Late results of the failed provider are not passed on.
	first.sink(pipeline.STTResult{Kind: pipeline.STTPartial, Text: "stale"})
	if err := st.Write(frame()); err != nil {
		t.Fatal(err)
	}
	if err := st.Finalize(); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Kind != pipeline.STTFinal || r.Text != "b heard 1280" {
		t.Fatalf("result %+v, want the final of b over the whole utterance", r)
	}
	// The next utterance starts afresh.
	_ = st.Write(frame())
	_ = st.Finalize()
	if r := res.next(t); r.Text != "b heard 320" {
		t.Fatalf("second utterance: %+v", r)
	}
	res.none(t)
	if !first.isClosed() {
		t.Error("the failed stream was not closed")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if !(<-b.opened).isClosed() {
		t.Error("Close left the current stream open")
	}
	if err := st.Write(frame()); !errors.Is(err, pipeline.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

func TestSTTRepeatsAPendingFinalize(t *testing.T) {
	a, b := newScriptedSTT("a"), newScriptedSTT("b")
	a.holdFinals = true
	st, res, sw := openChain(t, context.Background(), a, b)
	first := <-a.opened
	_ = st.Write(frame())
	_ = st.Write(frame())
	_ = st.Finalize()
	_ = st.Write(frame()) // the next utterance has begun
	first.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: pipeline.ErrStreamCut})
	<-sw
	if r := res.next(t); r.Text != "b heard 640" {
		t.Fatalf("replayed final %+v, want the 640 samples before the Finalize", r)
	}
	_ = st.Finalize()
	if r := res.next(t); r.Text != "b heard 320" {
		t.Fatalf("second final %+v", r)
	}
}

func TestSTTMovesOnWhenWriteFails(t *testing.T) {
	a, b := newScriptedSTT("a"), newScriptedSTT("b")
	a.writeErrAt, a.writeErr = 2, &pipeline.ProviderError{Provider: "a", Stage: "stt", Retryable: true, Err: errors.New("socket closed")}
	st, res, sw := openChain(t, context.Background(), a, b)
	for range 3 {
		if err := st.Write(frame()); err != nil {
			t.Fatalf("Write: %v (a switch should hide the failure)", err)
		}
	}
	if s := <-sw; s.From != "a" || s.To != "b" {
		t.Fatalf("switch %+v", s)
	}
	_ = st.Finalize()
	if r := res.next(t); r.Text != "b heard 960" {
		t.Fatalf("final %+v", r)
	}
}

func TestSTTBackpressureIsNotAFailure(t *testing.T) {
	a, b := newScriptedSTT("a"), newScriptedSTT("b")
	a.writeErrAt, a.writeErr = 1, pipeline.ErrBackpressure
	st, _, sw := openChain(t, context.Background(), a, b)
	if err := st.Write(frame()); !errors.Is(err, pipeline.ErrBackpressure) {
		t.Fatalf("Write: %v, want backpressure passed on", err)
	}
	select {
	case s := <-sw:
		t.Fatalf("switched on backpressure: %+v", s)
	default:
	}
}

func TestSTTOpensTheFirstThatOpensAndGivesUpAtTheEnd(t *testing.T) {
	down := newScriptedSTT("down")
	down.openErr = retryable(502)
	a, b := newScriptedSTT("a"), newScriptedSTT("b")
	b.openErr = retryable(503)
	st, res, sw := openChain(t, context.Background(), down, a, b)
	if s := <-sw; s.From != "down" || s.To != "a" {
		t.Fatalf("switch at open %+v", s)
	}
	first := <-a.opened
	first.sink(pipeline.STTResult{Kind: pipeline.STTError, Err: retryable(500)})
	if s := <-sw; s.From != "a" || s.To != "b" {
		t.Fatalf("switch %+v", s)
	}
	if r := res.next(t); r.Kind != pipeline.STTError || !errors.Is(r.Err, b.openErr) {
		t.Fatalf("result %+v, want b's error", r)
	}
	if err := st.Write(frame()); err == nil {
		t.Error("Write succeeded with no provider left")
	}

	// A permanent error is passed on, not acted on.
	c, d := newScriptedSTT("c"), newScriptedSTT("d")
	_, res, sw = openChain(t, context.Background(), c, d)
	auth := &pipeline.ProviderError{Provider: "c", Stage: "stt", Status: 401, Err: errors.New("bad key")}
	(<-c.opened).sink(pipeline.STTResult{Kind: pipeline.STTError, Err: auth})
	if r := res.next(t); !errors.Is(r.Err, auth) {
		t.Fatalf("result %+v", r)
	}
	select {
	case s := <-sw:
		t.Fatalf("switched on a permanent error: %+v", s)
	default:
	}
	bad := newScriptedSTT("bad")
	bad.openErr = auth
	if _, err := (&STT{Providers: []Named[pipeline.STT]{{"bad", bad}, {"d", d}}}).NewStream(context.Background(),
		pipeline.STTConfig{SampleRate: 16000}, func(pipeline.STTResult) {}); !errors.Is(err, auth) {
		t.Fatalf("open with a permanent error: %v", err)
	}
}
