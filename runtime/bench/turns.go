package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/parley-voice/parley/media"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

// endTimeout bounds how long the calls may take to end after the bench hangs up.
const endTimeout = 15 * time.Second

// RunTurns starts cfg.Calls calls in process, drives each with a scripted caller
// in real time (speech, then silence until the agent's reply has played and a
// pause has passed, again and again), and measures every turn that completes
// during the window. No sockets are involved: calls are fed through
// call.Call.Audio and write to an in-memory transport.
func RunTurns(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, fmt.Errorf("bench turns: %w", err)
	}
	agent := cfg.Agent
	if agent == nil {
		if agent, err = FakeAgent(); err != nil {
			return Report{}, err
		}
	}
	rec := newRecorder()
	var stream *streamSetup
	if cfg.Stream != StreamOff {
		if stream, err = newStreamSetup(cfg, &rec.measuring); err != nil {
			return Report{}, err
		}
		defer stream.close()
		agent = stream.agent
	} else if cfg.TableTTS {
		a := *agent
		a.TTS = &tableTTS{}
		agent = &a
	}
	if cfg.HeapProfile != nil {
		// Sample every 4 KiB rather than every 512 KiB, so that structures of a
		// few KiB per call show up in the profile; set before the calls start.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 4096
	}
	rep := Report{Calls: cfg.Calls, LoadBefore: LoadAverage()}
	bus := events.NewBus()
	bus.AddSink(rec)
	defer bus.Close()

	fd := media.FrameDuration
	sc := newScript(cfg.SampleRate, int(cfg.Speech/fd), cfg.SpeechLevel, cfg.NoiseLevel, cfg.Seed)
	endpointing := agent.Config.Turn.Endpointing.Std()
	shards := make([]*shard, cfg.Shards)
	for i := range shards {
		shards[i] = &shard{rec: rec, sc: sc, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)+2)),
			eotFrames: int((endpointing + fd - 1) / fd), pause: cfg.Pause}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	callers := make([]*caller, cfg.Calls)
	for i := range callers {
		c := &caller{conn: &conn{rec: rec}, slot: rng.IntN(len(shards[0].slots))}
		c.pause = int64(cfg.Pause)/2 + rng.Int64N(int64(cfg.Pause)+1)
		callers[i] = c
		sh := shards[i%len(shards)]
		sh.slots[c.slot] = append(sh.slots[c.slot], c)
	}

	stop := make(chan struct{})
	var drivers sync.WaitGroup
	for _, sh := range shards {
		drivers.Add(1)
		go func() { defer drivers.Done(); sh.run(stop) }()
	}

	// The baseline: everything of the bench exists and runs, nothing of the calls yet.
	var m0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var calls []*call.Call
	cleanup := func() error {
		for _, cl := range calls {
			cl.Hangup(call.ReasonCallerHangup)
		}
		deadline := time.NewTimer(endTimeout)
		defer deadline.Stop()
		var err error
		for _, cl := range calls {
			select {
			case <-cl.Done():
			case <-deadline.C:
				err = fmt.Errorf("bench turns: call %s did not end within %v of hanging up", cl.ID(), endTimeout)
			}
			if err != nil {
				break
			}
		}
		close(stop)
		drivers.Wait()
		return err
	}

	progress := func(phase string, elapsed, total time.Duration) {
		if cfg.Progress == nil {
			return
		}
		var dropped uint64
		for _, cl := range calls {
			dropped += cl.DroppedFrames()
		}
		cfg.Progress(Progress{Phase: phase, Elapsed: elapsed, Total: total, Calls: len(calls),
			Turns: rec.share.len(), ShareP99: rec.share.dist().P99, Dropped: dropped})
	}

	// Ramp: start the calls spread over cfg.Ramp.
	rampStart := time.Now()
	lastProgress := rampStart
	for i, c := range callers {
		at := rampStart.Add(cfg.Ramp * time.Duration(i) / time.Duration(cfg.Calls))
		if d := time.Until(at); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return rep, errors.Join(err, cleanup())
			}
		}
		c.waitSince = rec.now()
		cl, err := call.Start(cctx, agent, call.Params{Transport: "bench", From: fmt.Sprintf("bench-%d", i),
			SampleRate: cfg.SampleRate}, c.conn, bus, call.Options{Logger: cfg.Logger})
		if err != nil {
			return rep, errors.Join(fmt.Errorf("bench turns: starting call %d: %w", i, err), cleanup())
		}
		calls = append(calls, cl)
		c.call.Store(cl)
		if time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			progress("ramp", time.Since(rampStart), cfg.Ramp)
		}
	}
	if err := phase(ctx, cfg.Warmup, func(el time.Duration) { progress("warmup", el, cfg.Warmup) }); err != nil {
		return rep, errors.Join(err, cleanup())
	}

	// The measurement window.
	framesOut0 := framesOut(callers)
	framesIn0 := framesIn(shards)
	var mStart runtime.MemStats
	runtime.ReadMemStats(&mStart)
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return rep, errors.Join(fmt.Errorf("bench turns: starting the CPU profile: %w", err), cleanup())
		}
	}
	cpu0, t0 := cpuTime(), time.Now()
	rec.measuring.Store(true)
	stopBaseline := startBaseline(stream)
	defer stopBaseline()
	half := cfg.Duration / 2
	err = phase(ctx, half, func(el time.Duration) { progress("measure", el, cfg.Duration) })
	var mMid runtime.MemStats
	runtime.ReadMemStats(&mMid)
	gMid := runtime.NumGoroutine()
	if err == nil {
		err = phase(ctx, cfg.Duration-half, func(el time.Duration) { progress("measure", half+el, cfg.Duration) })
	}
	rec.measuring.Store(false)
	stopBaseline()
	rep.Window = time.Since(t0)
	cpu1 := cpuTime()
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return rep, errors.Join(err, cleanup())
	}
	var mEnd runtime.MemStats
	runtime.ReadMemStats(&mEnd)
	rep.FramesOut = framesOut(callers) - framesOut0
	rep.FramesIn = framesIn(shards) - framesIn0
	for _, c := range callers {
		if c.conn.closed.Load() {
			rep.EndedEarly++
		}
	}
	var mLive runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&mLive)
	if cfg.HeapProfile != nil {
		if err := pprof.WriteHeapProfile(cfg.HeapProfile); err != nil {
			return rep, errors.Join(fmt.Errorf("bench turns: writing the heap profile: %w", err), cleanup())
		}
	}
	for _, cl := range calls {
		rep.DroppedIn += cl.DroppedFrames()
	}
	if err := cleanup(); err != nil {
		return rep, err
	}
	if stream != nil {
		stream.quiesce()
	}

	n := int64(cfg.Calls)
	rep.Memory = Memory{
		HeapInuse: (int64(mMid.HeapInuse) - int64(m0.HeapInuse)) / n,
		LiveHeap:  (int64(mLive.HeapAlloc) - int64(m0.HeapAlloc)) / n,
		Stack:     (int64(mMid.StackInuse) - int64(m0.StackInuse)) / n,
		Sys:       (int64(mMid.Sys) - int64(m0.Sys)) / n,
	}
	rep.GoroutinesPerCall = float64(gMid-g0) / float64(n)
	if cpu0 >= 0 && cpu1 >= 0 {
		rep.CPU = float64(cpu1-cpu0) / float64(rep.Window)
	}
	rep.GCs = mEnd.NumGC - mStart.NumGC
	rep.GCPauseTotal = time.Duration(mEnd.PauseTotalNs - mStart.PauseTotalNs)
	for i := mStart.NumGC + 1; i <= mEnd.NumGC && mEnd.NumGC-i < 256; i++ {
		rep.GCPauseMax = max(rep.GCPauseMax, time.Duration(mEnd.PauseNs[(i+255)%256]))
	}

	rec.fill(&rep)
	if stream != nil {
		rep.Stream = stream.rec.report(cfg.Stream, cfg.TokenDelay)
	}

	// Every goroutine of the calls and the drivers should be gone; give the
	// last ones a moment to return after closing their Done channel.
	for wait := 0; ; wait++ {
		rep.LeakedGoroutines = max(runtime.NumGoroutine()-(g0-len(shards)), 0)
		if rep.LeakedGoroutines == 0 || wait == 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	rep.LoadAfter = LoadAverage()
	return rep, nil
}

// phase waits d, calling tick with the elapsed time about once a second.
func phase(ctx context.Context, d time.Duration, tick func(time.Duration)) error {
	start := time.Now()
	for {
		left := d - time.Since(start)
		if left <= 0 {
			return nil
		}
		if err := sleep(ctx, min(left, time.Second)); err != nil {
			return err
		}
		tick(time.Since(start))
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bench turns: %w", ctx.Err())
	}
}

func framesOut(callers []*caller) uint64 {
	var n uint64
	for _, c := range callers {
		n += c.conn.frames.Load()
	}
	return n
}

func framesIn(shards []*shard) uint64 {
	var n uint64
	for _, s := range shards {
		n += s.framesIn.Load()
	}
	return n
}
