package bench

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/runtime/events"
)

// recorder collects a run's measurements. It is the bus sink that reads
// turn.completed (synchronously, on each call's actor goroutine) and the shared
// clock and histograms of the conns and the driver.
type recorder struct {
	epoch     time.Time
	measuring atomic.Bool

	share      samples // sum of the stages of each complete turn
	stages     [6]samples
	callerSide samples // end-of-turn frame posted → first reply frame written
	incomplete atomic.Int64
	stalls     atomic.Int64

	outLate    hist // agent frames: lateness against the ideal 20 ms grid
	outJitter  hist // agent frames: |interval − 20 ms|
	driverLate hist // caller frames: how late the driver posted them
}

func newRecorder() *recorder {
	if len(pipeline.Stages) != 6 {
		panic("bench: the pipeline's stages changed; update recorder.stages")
	}
	return &recorder{epoch: time.Now()}
}

// now is the recorder's monotonic clock in nanoseconds, never 0 after creation.
func (r *recorder) now() int64 { return int64(time.Since(r.epoch)) + 1 }

// Accept reads the latency breakdown of each turn.completed during the window.
func (r *recorder) Accept(e *events.Event) {
	if e.Type != events.TurnCompleted || !r.measuring.Load() {
		return
	}
	p, _ := e.Payload.(map[string]any)
	lat, _ := p["latency_ms"].(map[string]float64)
	if interrupted, _ := p["interrupted"].(bool); interrupted || lat == nil {
		r.incomplete.Add(1)
		return
	}
	var stages [6]time.Duration
	var sum time.Duration
	for i, s := range pipeline.Stages {
		ms, ok := lat[s]
		if !ok {
			r.incomplete.Add(1)
			return
		}
		stages[i] = time.Duration(math.Round(ms*1000)) * time.Microsecond
		sum += stages[i]
	}
	for i, d := range stages {
		r.stages[i].add(d)
	}
	r.share.add(sum)
}

// fill copies the measurements into rep.
func (r *recorder) fill(rep *Report) {
	rep.Turns = r.share.len()
	rep.IncompleteTurns = int(r.incomplete.Load())
	rep.Stalls = int(r.stalls.Load())
	rep.Share = r.share.dist()
	for i, s := range pipeline.Stages {
		rep.Stages[i] = StageDist{Name: s, Dist: r.stages[i].dist()}
	}
	rep.CallerSide = r.callerSide.dist()
	rep.OutLateness = r.outLate.dist()
	rep.OutJitter = r.outJitter.dist()
	rep.DriverLateness = r.driverLate.dist()
}

var _ events.Sink = (*recorder)(nil)
