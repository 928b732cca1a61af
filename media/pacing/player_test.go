package pacing

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-voice/parley/media"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	rate = 8000
	spf  = 160 // samples per frame at rate
	ms   = time.Millisecond
)

// pcm returns n samples all equal to v, so frames show which segment they came
// from.
func pcm(n int, v int16) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// recorder logs writes and events in the order they happen.
type recorder struct {
	mu     sync.Mutex
	clock  Clock
	log    []string
	frames [][]int16
	times  []time.Time
	events chan Event
	// writeHook runs inside Write (before it returns) when set.
	writeHook func(n int) error
}

func newRecorder(clock Clock) *recorder {
	return &recorder{clock: clock, events: make(chan Event, 1024)}
}

func (r *recorder) write(f []int16) error {
	r.mu.Lock()
	n := len(r.frames)
	r.frames = append(r.frames, slices.Clone(f))
	r.times = append(r.times, r.clock.Now())
	r.log = append(r.log, fmt.Sprintf("write %d", f[0]))
	hook := r.writeHook
	r.mu.Unlock()
	if hook != nil {
		return hook(n)
	}
	return nil
}

func (r *recorder) onEvent(ev Event) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf("%v %d %d", ev.Kind, ev.SegmentID, ev.PlayedSamples))
	r.mu.Unlock()
	r.events <- ev
}

func (r *recorder) snapshot() ([]string, [][]int16, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log), slices.Clone(r.frames), slices.Clone(r.times)
}

// waitFor waits for an event of kind and returns it.
func (r *recorder) waitFor(t *testing.T, kind EventKind) Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-r.events:
			if ev.Kind == kind {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event within 5s", kind)
		}
	}
}

func newPlayer(t *testing.T, r *recorder, lead int) *Player {
	t.Helper()
	p, err := NewPlayer(Config{SampleRate: rate, Write: r.write, OnEvent: r.onEvent, Lead: lead, Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestEventsFramesAndTiming(t *testing.T) {
	clock := newVirtualClock()
	t0 := clock.Now()
	r := newRecorder(clock)
	p := newPlayer(t, r, 1)
	p.Pause() // the virtual clock is fast: queue everything first
	p.Enqueue(Segment{ID: 1, PCM: pcm(2*spf+80, 1)})
	p.Enqueue(Segment{ID: 2})
	p.Enqueue(Segment{ID: 3, PCM: pcm(spf, 3)})
	p.Resume()
	r.waitFor(t, Drained)

	log, frames, times := r.snapshot()
	want := []string{
		"segment_started 1 0", "write 1", "write 1", "write 1", "segment_done 1 400",
		"segment_started 2 0", "segment_done 2 0",
		"segment_started 3 0", "write 3", "segment_done 3 160",
		"drained 0 0",
	}
	if !slices.Equal(log, want) {
		t.Fatalf("log\n%q\nwant\n%q", log, want)
	}
	// The partial last frame of segment 1 is padded with silence.
	if wantPad := append(pcm(80, 1), make([]int16, 80)...); !slices.Equal(frames[2], wantPad) {
		t.Fatalf("padded frame = %v", frames[2])
	}
	// Lead 1: two frames at once, then one every 20 ms.
	wantAt := []time.Duration{0, 0, 20 * ms, 40 * ms}
	for i, at := range times {
		if at.Sub(t0) != wantAt[i] {
			t.Errorf("frame %d written at %v, want %v", i, at.Sub(t0), wantAt[i])
		}
	}
	s := p.Stats()
	if s.FramesWritten != 4 || s.Underruns != 0 || s.Reanchors != 0 || s.LatenessMax != 0 {
		t.Fatalf("stats %+v", s)
	}
	if p.Playing() {
		t.Fatal("Playing after Drained")
	}
}

func TestLeadZeroMeansDefaultAndLargerLead(t *testing.T) {
	for _, tc := range []struct {
		lead int
		want []time.Duration
	}{
		{0, []time.Duration{0, 0, 20 * ms, 40 * ms, 60 * ms}},
		{3, []time.Duration{0, 0, 0, 0, 20 * ms}},
	} {
		clock := newVirtualClock()
		t0 := clock.Now()
		r := newRecorder(clock)
		p := newPlayer(t, r, tc.lead)
		p.Enqueue(Segment{ID: 1, PCM: pcm(5*spf, 1)})
		r.waitFor(t, Drained)
		_, _, times := r.snapshot()
		for i, at := range times {
			if at.Sub(t0) != tc.want[i] {
				t.Errorf("lead %d: frame %d at %v, want %v", tc.lead, i, at.Sub(t0), tc.want[i])
			}
		}
	}
}

// TestScheduleAcrossGaps: a segment that arrives while the transport still has
// audio continues the schedule; one that arrives after it ran dry starts a new one.
func TestScheduleAcrossGaps(t *testing.T) {
	clock := newVirtualClock()
	t0 := clock.Now()
	r := newRecorder(clock)
	p := newPlayer(t, r, 1)
	p.Enqueue(Segment{ID: 1, PCM: pcm(3*spf, 1)}) // frames at 0, 0, 20ms; next plays at 60ms
	r.waitFor(t, Drained)
	clock.Advance(5 * ms) // now 25ms
	p.Enqueue(Segment{ID: 2, PCM: pcm(2*spf, 2)})
	r.waitFor(t, Drained)
	clock.Advance(500 * ms)
	tGap := clock.Now()
	p.Enqueue(Segment{ID: 3, PCM: pcm(2*spf, 3)})
	r.waitFor(t, Drained)

	_, _, times := r.snapshot()
	want := []time.Duration{0, 0, 20 * ms, 40 * ms, 60 * ms, tGap.Sub(t0), tGap.Sub(t0)}
	for i, at := range times {
		if at.Sub(t0) != want[i] {
			t.Errorf("frame %d at %v, want %v", i, at.Sub(t0), want[i])
		}
	}
	if s := p.Stats(); s.Underruns != 0 || s.Reanchors != 0 || s.LatenessMax != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestFallingBehind: a small delay is caught up by writing the overdue frames; a
// long one restarts the schedule instead of bursting.
func TestFallingBehind(t *testing.T) {
	clock := newVirtualClock()
	r := newRecorder(clock)
	r.writeHook = func(n int) error {
		switch n {
		case 5:
			clock.Advance(50 * ms) // slow write: the next frame is 30ms late
		case 12:
			clock.Advance(200 * ms) // stall: far behind
		}
		return nil
	}
	p := newPlayer(t, r, 1)
	p.Enqueue(Segment{ID: 1, PCM: pcm(20*spf, 1)})
	r.waitFor(t, Drained)
	_, _, times := r.snapshot()
	gaps := make([]time.Duration, len(times)-1)
	for i := range gaps {
		gaps[i] = times[i+1].Sub(times[i])
	}
	want := []time.Duration{
		0, 20 * ms, 20 * ms, 20 * ms, 20 * ms, // frames 0..5
		50 * ms, 0, 10 * ms, 20 * ms, 20 * ms, 20 * ms, 20 * ms, // 6 is 30ms late, 7 10ms, 8 back on time
		200 * ms, 0, 20 * ms, 20 * ms, 20 * ms, 20 * ms, 20 * ms, // 13 restarts the schedule
	}
	if !slices.Equal(gaps, want) {
		t.Fatalf("gaps between writes\n%v\nwant\n%v", gaps, want)
	}
	s := p.Stats()
	if s.Reanchors != 1 || s.Underruns != 2 || s.LatenessMax != 180*ms || s.FramesWritten != 20 {
		t.Fatalf("stats %+v, want 1 reanchor, 2 underruns (frame 6 and 13), max lateness 180ms", s)
	}
	if s.LatenessP50 != 0 {
		t.Fatalf("median lateness %v, want 0", s.LatenessP50)
	}
}

// TestClearWaitsForWriteAndReportsProgress blocks the goroutine inside a Write,
// calls Clear, and checks that Clear waits for that write, counts it, and that
// nothing of the cleared segments is written afterwards.
func TestClearWaitsForWriteAndReportsProgress(t *testing.T) {
	clock := newVirtualClock()
	r := newRecorder(clock)
	inWrite := make(chan int)
	release := make(chan struct{})
	var cleared atomic.Bool
	r.writeHook = func(n int) error {
		if cleared.Load() {
			t.Errorf("frame %d written after Clear returned", n)
		}
		if n == 6 {
			inWrite <- n
			<-release
		}
		return nil
	}
	p := newPlayer(t, r, 1)
	p.Pause() // queue everything before playing starts
	p.Enqueue(Segment{ID: 1, PCM: pcm(5*spf, 1)})
	p.Enqueue(Segment{ID: 2, PCM: pcm(3*spf, 2)})
	p.Enqueue(Segment{ID: 3, PCM: pcm(2*spf+10, 3)})
	p.Resume()
	<-inWrite // frame 6 = segment 2's second frame, in progress

	done := make(chan []SegmentProgress)
	go func() { done <- p.Clear() }()
	waitInterrupt(t, p)
	select {
	case <-done:
		t.Fatal("Clear returned while a Write was in progress")
	case <-time.After(50 * ms):
	}
	close(release)
	progress := <-done
	cleared.Store(true)
	want := []SegmentProgress{{ID: 2, PlayedSamples: 2 * spf, TotalSamples: 3 * spf}, {ID: 3, PlayedSamples: 0, TotalSamples: 2*spf + 10}}
	if !slices.Equal(progress, want) {
		log, _, _ := r.snapshot()
		t.Fatalf("Clear = %+v, want %+v; log %q", progress, want, log)
	}
	if p.Playing() {
		t.Fatal("Playing after Clear")
	}
	if got := p.Clear(); got != nil {
		t.Fatalf("second Clear = %+v, want nil", got)
	}

	// The next segment starts at once on a new schedule; no Drained was sent for
	// the cleared audio.
	cleared.Store(false)
	tNew := clock.Advance(time.Second)
	p.Enqueue(Segment{ID: 4, PCM: pcm(spf, 4)})
	r.waitFor(t, Drained)
	log, _, times := r.snapshot()
	if last := times[len(times)-1]; !last.Equal(tNew) {
		t.Fatalf("segment after Clear written at %v, want %v", last, tNew)
	}
	if n := slices.Index(log, "drained 0 0"); n != len(log)-1 {
		t.Fatalf("Drained before the end of %q", log)
	}
}

// waitInterrupt waits until a Clear or Pause has asked the goroutine to stop.
func waitInterrupt(t *testing.T, p *Player) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(ms) {
		p.mu.Lock()
		n := p.interrupts
		p.mu.Unlock()
		if n > 0 {
			return
		}
	}
	t.Fatal("Clear or Pause never reached the player")
}

func TestPauseResume(t *testing.T) {
	clock := newVirtualClock()
	r := newRecorder(clock)
	inWrite := make(chan struct{})
	release := make(chan struct{})
	var wrote atomic.Int32
	r.writeHook = func(n int) error {
		if wrote.Add(1) == 3 {
			close(inWrite)
			<-release
		}
		return nil
	}
	p := newPlayer(t, r, 1)
	p.Enqueue(Segment{ID: 1, PCM: pcm(10*spf, 1)})
	<-inWrite
	pausing := make(chan struct{})
	go func() { p.Pause(); close(pausing) }()
	waitInterrupt(t, p)
	close(release)
	<-pausing
	if got := wrote.Load(); got != 3 {
		t.Fatalf("%d frames written by the time Pause returned, want 3", got)
	}
	p.Enqueue(Segment{ID: 2, PCM: pcm(spf, 2)})
	time.Sleep(30 * ms)
	if got := wrote.Load(); got != 3 {
		t.Fatalf("%d frames written while paused", got-3)
	}
	if !p.Playing() {
		t.Fatal("not Playing while paused with audio queued")
	}
	tResume := clock.Advance(time.Minute)
	p.Resume()
	p.Resume() // no effect
	r.waitFor(t, Drained)
	log, frames, times := r.snapshot()
	if len(frames) != 11 {
		t.Fatalf("%d frames written, want 11 (nothing lost or repeated by the pause): %q", len(frames), log)
	}
	if !times[3].Equal(tResume) {
		t.Fatalf("first frame after Resume at %v, want %v (a new schedule)", times[3], tResume)
	}
	if s := p.Stats(); s.Underruns != 0 || s.Reanchors != 0 {
		t.Fatalf("the pause counted as lateness: %+v", s)
	}
}

func TestClearDuringPauseKeepsPause(t *testing.T) {
	clock := newVirtualClock()
	r := newRecorder(clock)
	p := newPlayer(t, r, 1)
	p.Pause()
	p.Enqueue(Segment{ID: 1, PCM: pcm(spf, 1)})
	if got := p.Clear(); len(got) != 1 || got[0].PlayedSamples != 0 {
		t.Fatalf("Clear while paused = %+v", got)
	}
	p.Enqueue(Segment{ID: 2, PCM: pcm(spf, 2)})
	time.Sleep(20 * ms)
	if _, frames, _ := r.snapshot(); len(frames) != 0 {
		t.Fatal("Clear ended the pause")
	}
	p.Resume()
	r.waitFor(t, Drained)
}

func TestWriteErrorDropsSegment(t *testing.T) {
	clock := newVirtualClock()
	r := newRecorder(clock)
	boom := errors.New("socket closed")
	r.writeHook = func(n int) error {
		if n == 1 {
			return boom
		}
		return nil
	}
	p := newPlayer(t, r, 1)
	p.Pause()
	p.Enqueue(Segment{ID: 1, PCM: pcm(3*spf, 1)})
	p.Enqueue(Segment{ID: 2, PCM: pcm(spf, 2)})
	p.Resume()
	ev := r.waitFor(t, WriteError)
	if ev.SegmentID != 1 || ev.PlayedSamples != spf || !errors.Is(ev.Err, boom) {
		t.Fatalf("WriteError event %+v", ev)
	}
	r.waitFor(t, Drained)
	log, _, _ := r.snapshot()
	want := []string{"segment_started 1 0", "write 1", "write 1", "write_error 1 160",
		"segment_started 2 0", "write 2", "segment_done 2 160", "drained 0 0"}
	if !slices.Equal(log, want) {
		t.Fatalf("log %q\nwant %q", log, want)
	}
	if s := p.Stats(); s.WriteErrors != 1 || s.FramesWritten != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCloseIsIdempotentAndDropsAudio(t *testing.T) {
	r := newRecorder(realClock{})
	p, err := NewPlayer(Config{SampleRate: rate, Write: r.write})
	if err != nil {
		t.Fatal(err)
	}
	p.Enqueue(Segment{ID: 1, PCM: pcm(100*spf, 1)})
	time.Sleep(50 * ms)
	p.Close()
	p.Close()
	_, frames, _ := r.snapshot()
	n := len(frames)
	p.Enqueue(Segment{ID: 2, PCM: pcm(spf, 2)})
	time.Sleep(30 * ms)
	if _, frames, _ := r.snapshot(); len(frames) != n {
		t.Fatal("frames written after Close")
	}
	if got := p.Clear(); len(got) != 1 || got[0].ID != 1 {
		t.Fatalf("Clear after Close = %+v", got)
	}
	// Close while idle, and without events configured.
	p2, _ := NewPlayer(Config{SampleRate: 16000, Write: func([]int16) error { return nil }})
	p2.Close()
}

func TestConfigValidation(t *testing.T) {
	w := func([]int16) error { return nil }
	for name, cfg := range map[string]Config{
		"zero rate":       {Write: w},
		"rate not /50":    {SampleRate: 11025, Write: w},
		"no write":        {SampleRate: 8000},
		"negative lead":   {SampleRate: 8000, Write: w, Lead: -1},
		"lead too large":  {SampleRate: 8000, Write: w, Lead: MaxLead + 1},
		"negative rate":   {SampleRate: -8000, Write: w},
		"rate under 50Hz": {SampleRate: 25, Write: w},
	} {
		if _, err := NewPlayer(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: NewPlayer error = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{EventUnknown: "unknown", SegmentStarted: "segment_started",
		SegmentDone: "segment_done", Drained: "drained", WriteError: "write_error", 42: "pacing.EventKind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q, want %q", int(k), got, want)
		}
	}
}

// TestRealTimePacing plays one second of audio on the real clock. Frames must
// never be early, and without a re-anchor (which a heavily loaded machine can
// force) the writes must keep real time to within a few percent. A loaded run is
// retried.
func TestRealTimePacing(t *testing.T) {
	const frames = 51
	for attempt := 1; attempt <= 5; attempt++ {
		r := newRecorder(realClock{})
		p := newPlayer(t, r, 1)
		p.Enqueue(Segment{ID: 1, PCM: pcm(frames*spf, 1)})
		r.waitFor(t, Drained)
		p.Close()
		_, _, times := r.snapshot()
		s := p.Stats()
		t.Logf("attempt %d: %+v", attempt, s)
		if len(times) != frames || s.FramesWritten != frames {
			t.Fatalf("%d frames written, want %d", len(times), frames)
		}
		// Lead 1: frames 0 and 1 at once, then frame k at (k-1)*20ms.
		for k := 2; k < frames; k++ {
			// times[0] is taken inside Write, a little after the schedule's anchor.
			if early := times[0].Add(time.Duration(k-1) * media.FrameDuration).Sub(times[k]); early > ms {
				t.Fatalf("frame %d written %v early", k, early)
			}
		}
		if s.Reanchors > 0 {
			continue // the machine stalled us; the rate says nothing
		}
		// Without a re-anchor there is no drift: the last frame is late by its own
		// lateness only, never by accumulated error.
		want := time.Duration(frames-2) * media.FrameDuration
		got := times[frames-1].Sub(times[0])
		if d := float64(got-want) / float64(want); d > 0.03 {
			if attempt < 5 {
				continue
			}
			t.Fatalf("%d frames took %v, want %v (%.1f%% slow)", frames, got, want, 100*d)
		}
		return
	}
	t.Skip("machine too loaded: every attempt had to re-anchor, so the rate could not be judged")
}

// TestClearRealTime clears a long segment while it plays on the real clock.
func TestClearRealTime(t *testing.T) {
	var written atomic.Int64
	var cleared atomic.Bool
	p, err := NewPlayer(Config{SampleRate: 16000, Write: func(f []int16) error {
		if cleared.Load() {
			t.Error("frame written after Clear returned")
		}
		written.Add(1)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Enqueue(Segment{ID: 7, PCM: make([]int16, 5*16000)})
	p.Enqueue(Segment{ID: 8, PCM: make([]int16, 16000)})
	time.Sleep(200 * ms)
	progress := p.Clear()
	cleared.Store(true)
	n := int(written.Load())
	if n < 8 || n > 14 {
		t.Errorf("%d frames written in 200ms, want about 11", n)
	}
	want := []SegmentProgress{{ID: 7, PlayedSamples: n * 320, TotalSamples: 80000}, {ID: 8, TotalSamples: 16000}}
	if !slices.Equal(progress, want) {
		t.Fatalf("Clear = %+v, want %+v", progress, want)
	}
	time.Sleep(60 * ms)
}

// TestConcurrentUse hammers every method from several goroutines (run with -race)
// and checks that no frame of a cleared segment is written after its Clear.
func TestConcurrentUse(t *testing.T) {
	var mu sync.Mutex
	dead := map[int16]bool{} // segments a returned Clear reported
	var violations atomic.Int32
	p, err := NewPlayer(Config{SampleRate: 8000, Clock: newVirtualClock(), Write: func(f []int16) error {
		mu.Lock()
		if dead[f[0]] {
			violations.Add(1)
		}
		mu.Unlock()
		return nil
	}, OnEvent: func(Event) {}})
	if err != nil {
		t.Fatal(err)
	}
	var id atomic.Int32
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for range 300 {
				n := int16(id.Add(1))
				p.Enqueue(Segment{ID: uint64(n), PCM: pcm(3*spf, n)})
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			progress := p.Clear()
			mu.Lock()
			for _, pr := range progress {
				dead[int16(pr.ID)] = true
			}
			mu.Unlock()
			p.Stats()
			p.Playing()
		}
	})
	wg.Go(func() {
		for range 200 {
			p.Pause()
			p.Resume()
		}
	})
	wg.Wait()
	p.Close()
	if v := violations.Load(); v > 0 {
		t.Fatalf("%d frames of cleared segments written after Clear returned", v)
	}
}

func TestHistogram(t *testing.T) {
	for us := uint64(0); us < 1<<20; us += 1 + us/64 {
		b := bucketOf(us)
		hi := upperBound(b)
		if hi < us || (b > 0 && upperBound(b-1) >= us) {
			t.Fatalf("%d µs in bucket %d with bounds (%d, %d]", us, b, upperBound(b-1), hi)
		}
		if hi-us > us/8 {
			t.Fatalf("%d µs: bucket upper bound %d more than 1/8 away", us, hi)
		}
	}
	if b := bucketOf(1 << 62); b != numBuckets-1 {
		t.Fatalf("huge value in bucket %d", b)
	}
	var h histogram
	if h.quantile(0.5) != 0 {
		t.Fatal("empty histogram quantile not 0")
	}
	for i := 1; i <= 100; i++ {
		h.record(time.Duration(i) * ms)
	}
	h.record(-time.Second) // clamped to 0
	if p50 := h.quantile(0.5); p50 < 50*ms || p50 > 57*ms {
		t.Errorf("p50 = %v, want about 50ms", p50)
	}
	if p99 := h.quantile(0.99); p99 < 99*ms || p99 > 100*ms {
		t.Errorf("p99 = %v, want 99-100ms", p99)
	}
	if h.max != 100*ms {
		t.Errorf("max = %v", h.max)
	}
}

// TestPlaybackDoesNotAllocate plays whole segments on the virtual clock and
// counts every allocation in the process, the player's goroutine included.
func TestPlaybackDoesNotAllocate(t *testing.T) {
	drained := make(chan struct{}, 1)
	p, err := NewPlayer(Config{SampleRate: 16000, Clock: newVirtualClock(),
		Write: func([]int16) error { return nil },
		OnEvent: func(ev Event) {
			if ev.Kind == Drained {
				drained <- struct{}{}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	seg := Segment{ID: 1, PCM: make([]int16, 50*320+100)}
	p.Enqueue(seg)
	<-drained
	allocs := testing.AllocsPerRun(20, func() {
		p.Enqueue(seg)
		<-drained
	})
	if allocs != 0 {
		t.Fatalf("playing 51 frames allocated %.1f times", allocs)
	}
}

// BenchmarkFrame measures the player's own cost per frame (scheduling, locking,
// events) on the virtual clock, with a Write that does nothing.
func BenchmarkFrame(b *testing.B) {
	drained := make(chan struct{}, 1)
	p, _ := NewPlayer(Config{SampleRate: 16000, Clock: newVirtualClock(),
		Write: func([]int16) error { return nil },
		OnEvent: func(ev Event) {
			if ev.Kind == Drained {
				drained <- struct{}{}
			}
		}})
	defer p.Close()
	const frames = 1000
	seg := Segment{ID: 1, PCM: make([]int16, frames*320)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += frames {
		p.Enqueue(seg)
		<-drained
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64((b.N+frames-1)/frames*frames), "ns/frame")
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	r := newRecorder(realClock{})
	p, err := NewPlayer(Config{SampleRate: 16000, Write: r.write, OnEvent: r.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	p.Enqueue(Segment{ID: 1, PCM: make([]int16, 320*3)})
	r.waitFor(t, Drained)
	p.Enqueue(Segment{ID: 2, PCM: make([]int16, 320*100)}) // closed mid-segment
	time.Sleep(30 * ms)
	p.Close()
}
