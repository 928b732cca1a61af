package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-voice/parley/runtime/events"
	"github.com/parley-voice/parley/runtime/webhooks"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
	"github.com/parley-voice/parley/runtime/webhooks/receiver"
	"github.com/parley-voice/parley/runtime/webhooks/signature"
)

// WebhooksConfig configures RunWebhooks. Zero fields take the defaults below.
type WebhooksConfig struct {
	// Events is how many events the throughput mode emits, as fast as
	// Accept takes them. Default 50,000.
	Events int
	// Rate, when set, selects the fixed-rate mode: Rate events a second for
	// Duration (default 10s).
	Rate     int
	Duration time.Duration
	// InFlight is the endpoint's MaxInFlight and the baseline's concurrency.
	// Default 64.
	InFlight int
	// Calls is how many call ids the events are spread over (per-call
	// ordering lanes). Default 1,000.
	Calls int
	// Warmup events are delivered, unmeasured, before each measurement.
	// Default 2,000.
	Warmup int
	// DataDir holds the embedded JetStream store; a temporary directory,
	// removed afterwards, when empty.
	DataDir string
	// Progress, when set, is called about once a second.
	Progress func(WebhooksProgress)
	// CPUProfile, when set, receives a CPU profile of the durable measurement.
	CPUProfile io.Writer
	// Logger receives the dispatcher's logs; discarded when nil.
	Logger *slog.Logger
}

// WebhooksProgress is a snapshot of a running measurement.
type WebhooksProgress struct {
	Phase     string // "baseline", "baseline-rate", "durable"
	Elapsed   time.Duration
	Emitted   int // events emitted (durable) or requests started (baseline)
	Delivered int // events received and verified
	Rate      float64
	P99       time.Duration // emit to receipt, so far
}

// WebhooksReport is what RunWebhooks measured.
type WebhooksReport struct {
	Mode      string // "throughput" or "rate"
	Events    int    // measured events
	Rate      int    // events a second, in the fixed-rate mode
	InFlight  int
	Calls     int
	BodyBytes int // size of one event body

	// Durable: Accept → JetStream (embedded, file storage) → signed POST →
	// verified receipt → ack.
	Elapsed      time.Duration // first emit → last receipt
	StoredAfter  time.Duration // first emit → every event stored
	PerSecond    float64       // Events / Elapsed
	Latency      Dist          // emit → verified receipt
	Dropped      uint64        // events the dispatcher's buffer dropped
	Duplicates   int           // requests that repeated an event
	Unacked      uint64        // events still pending in the queue at the end
	CPU          float64       // process CPU during the durable window, in cores
	BaselineCPU  float64       // the same for the baseline throughput window
	LoadBefore   string
	LoadAfter    string
	ReceiverBad  int // requests the receiver rejected (both phases)
	BaselineRuns int

	// Baseline: plain net/http POSTs of the same bodies (signed beforehand)
	// to the same receiver with InFlight concurrent requests, as fast as
	// possible.
	BaselineElapsed   time.Duration
	BaselinePerSecond float64
	BaselineLatency   Dist // send → verified receipt
	// Ratio is PerSecond / BaselinePerSecond (throughput mode only: in the
	// fixed-rate mode both deliver Rate).
	Ratio float64
	// BaselineRateLatency is the baseline sent at Rate (fixed-rate mode).
	BaselineRateLatency Dist
}

const whSecretKey = "parley-bench-webhooks-key-32byte"

// RunWebhooks measures durable webhook delivery end to end on this machine and,
// in the same run, plain net/http POSTs of the same bodies to the same
// receiver: an HTTP server on loopback in this process that verifies every
// signature and deduplicates with runtime/webhooks/receiver.
func RunWebhooks(ctx context.Context, cfg WebhooksConfig) (WebhooksReport, error) {
	cfg.Events = cmp.Or(cfg.Events, 50000)
	cfg.Duration = cmp.Or(cfg.Duration, 10*time.Second)
	cfg.InFlight = cmp.Or(cfg.InFlight, 64)
	cfg.Calls = cmp.Or(cfg.Calls, 1000)
	cfg.Warmup = cmp.Or(cfg.Warmup, 2000)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := cfg.Events
	rep := WebhooksReport{Mode: "throughput", InFlight: cfg.InFlight, Calls: cfg.Calls, LoadBefore: LoadAverage()}
	if cfg.Rate > 0 {
		rep.Mode, rep.Rate = "rate", cfg.Rate
		n = int(int64(cfg.Rate) * int64(cfg.Duration) / int64(time.Second))
	}
	if n < 1 || cfg.InFlight < 1 || cfg.Calls < 1 {
		return rep, errors.New("bench webhooks: events, in-flight and calls must be positive")
	}
	rep.Events = n

	secret, err := signature.NewSecret([]byte(whSecretKey))
	if err != nil {
		return rep, err
	}
	evs, bodies := benchEvents(n, cfg.Calls, "m")
	warm, warmBodies := benchEvents(cfg.Warmup, cfg.Calls, "w")
	rep.BodyBytes = len(bodies[0])

	rcv, err := startReceiver(secret.Encode(), n+cfg.Warmup)
	if err != nil {
		return rep, err
	}
	defer rcv.close()

	// Baseline first, on a fresh receiver state; then the durable run.
	base := &http.Client{Transport: &http.Transport{MaxIdleConns: cfg.InFlight, MaxIdleConnsPerHost: cfg.InFlight,
		MaxConnsPerHost: cfg.InFlight, DisableCompression: true}}
	defer base.CloseIdleConnections()
	signed := func(evs []*events.Event, bodies [][]byte) []http.Header {
		hs := make([]http.Header, len(bodies))
		now := time.Now()
		for i, b := range bodies {
			h := http.Header{"Content-Type": {"application/json"}}
			signature.SetHeaders(h, []signature.Secret{secret}, evs[i].ID, now, b)
			hs[i] = h
		}
		return hs
	}
	hdrs, warmHdrs := signed(evs, bodies), signed(warm, warmBodies)
	rcv.reset()
	if err := postAll(ctx, base, rcv, warmBodies, warmHdrs, cfg.InFlight, 0, nil); err != nil {
		return rep, err
	}
	rcv.reset()
	cpu0, t0 := cpuTime(), time.Now()
	prog := cfg.progress(rcv, "baseline", t0)
	err = postAll(ctx, base, rcv, bodies, hdrs, cfg.InFlight, 0, func(i int) { prog.emitted.Store(int64(i)) })
	prog.stop()
	if err != nil {
		return rep, err
	}
	rep.BaselineElapsed = rcv.lastAt().Sub(t0)
	rep.BaselinePerSecond = float64(n) / rep.BaselineElapsed.Seconds()
	rep.BaselineLatency = rcv.lat.Load().dist()
	rep.BaselineCPU = (cpuTime() - cpu0).Seconds() / time.Since(t0).Seconds()
	rep.BaselineRuns = 1
	if cfg.Rate > 0 {
		rcv.reset()
		t0 := time.Now()
		prog := cfg.progress(rcv, "baseline-rate", t0)
		err = postAll(ctx, base, rcv, bodies, hdrs, cfg.InFlight, cfg.Rate, func(i int) { prog.emitted.Store(int64(i)) })
		prog.stop()
		if err != nil {
			return rep, err
		}
		rep.BaselineRateLatency = rcv.lat.Load().dist()
	}
	base.CloseIdleConnections()

	// The durable run.
	dir := cfg.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "parley-bench-webhooks-"); err != nil {
			return rep, err
		}
		defer os.RemoveAll(dir)
	}
	d, err := dispatch.Open(ctx, dispatch.Config{
		DataDir: dir, Logger: cfg.Logger, Buffer: max(dispatch.DefaultBuffer, n+cfg.Warmup),
		Endpoints: []webhooks.Endpoint{{
			ID: "bench", URL: rcv.url, Secrets: []string{secret.Encode()}, AllowInsecureLoopback: true,
			MaxInFlight: cfg.InFlight, Ordering: webhooks.OrderingPerCall,
		}},
	})
	if err != nil {
		return rep, err
	}
	closed := false
	closeD := func() error {
		if closed {
			return nil
		}
		closed = true
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return d.Close(cctx)
	}
	defer closeD()

	rcv.reset()
	for _, ev := range warm {
		d.Accept(ev)
	}
	if err := rcv.wait(ctx, cfg.Warmup, time.Minute); err != nil {
		return rep, fmt.Errorf("bench webhooks: warm-up: %w", err)
	}
	rcv.reset()
	if cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(cfg.CPUProfile); err != nil {
			return rep, err
		}
	}
	cpu0, t0 = cpuTime(), time.Now()
	prog = cfg.progress(rcv, "durable", t0)
	emit := func(i int) {
		rcv.sent[i].Store(time.Now().UnixNano())
		d.Accept(evs[i])
		prog.emitted.Store(int64(i + 1))
	}
	stored := make(chan time.Duration, 1)
	go func() {
		// Flush only counts what was accepted when it checks; wait for all.
		for prog.emitted.Load() < int64(n) {
			time.Sleep(time.Millisecond)
		}
		_ = d.Flush(ctx)
		stored <- time.Since(t0)
	}()
	if cfg.Rate > 0 {
		pace(ctx, n, cfg.Rate, emit)
	} else {
		for i := range n {
			emit(i)
		}
	}
	werr := rcv.wait(ctx, n, max(time.Minute, 20*time.Duration(n)*time.Millisecond))
	prog.stop()
	if cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	rep.CPU = (cpuTime() - cpu0).Seconds() / time.Since(t0).Seconds()
	if werr != nil {
		return rep, fmt.Errorf("bench webhooks: durable run: %w", werr)
	}
	rep.Elapsed = rcv.lastAt().Sub(t0)
	rep.PerSecond = float64(n) / rep.Elapsed.Seconds()
	rep.Latency = rcv.lat.Load().dist()
	rep.StoredAfter = <-stored
	if cfg.Rate == 0 {
		rep.Ratio = rep.PerSecond / rep.BaselinePerSecond
	}
	st := d.Stats()
	rep.Dropped = st.Dropped
	// Give the last acks a moment to reach the queue, then look.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, err := d.Endpoint(ctx, "bench")
		if err != nil {
			return rep, err
		}
		rep.Unacked = s.Pending
		if s.Pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // late duplicates, if any
	rep.Duplicates = rcv.duplicates()
	rep.ReceiverBad = int(rcv.bad.Load())
	rep.LoadAfter = LoadAverage()
	return rep, closeD()
}

// benchEvents builds n speech.transcribed events spread over calls call ids,
// with ids "evt_<tag><index>", and their bodies as the dispatcher encodes them.
func benchEvents(n, calls int, tag string) ([]*events.Event, [][]byte) {
	evs := make([]*events.Event, n)
	bodies := make([][]byte, n)
	now := time.Now()
	for i := range n {
		ev := &events.Event{
			Type: events.SpeechTranscribed, ID: fmt.Sprintf("evt_%s%09d", tag, i), APIVersion: events.APIVersion,
			CallID: fmt.Sprintf("call_bench_%05d", i%calls), AgentID: "bench-agent", Sequence: uint64(i/calls + 1),
			Timestamp: now, Payload: map[string]any{"text": "I would like to book an appointment for Tuesday afternoon", "final": true, "confidence": 0.93},
		}
		evs[i] = ev
		bodies[i], _ = json.Marshal(ev)
	}
	return evs, bodies
}

// pace calls emit for 0..n-1 at rate a second, catching up after any stall.
func pace(ctx context.Context, n, rate int, emit func(i int)) {
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; {
		due := min(n, int(int64(time.Since(start))*int64(rate)/int64(time.Second))+1)
		for ; i < due; i++ {
			emit(i)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// postAll POSTs every body with its headers using inFlight concurrent
// requests, as fast as possible or at rate a second, and waits until the
// receiver has them all.
func postAll(ctx context.Context, c *http.Client, rcv *whReceiver, bodies [][]byte, hdrs []http.Header, inFlight, rate int, started func(int)) error {
	next := make(chan int, len(bodies))
	if rate == 0 {
		for i := range bodies {
			next <- i
		}
		close(next)
	} else {
		go func() {
			defer close(next)
			pace(ctx, len(bodies), rate, func(i int) { next <- i })
		}()
	}
	var wg sync.WaitGroup
	var first atomic.Value
	var count atomic.Int64
	for range inFlight {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				rcv.sent[i].Store(time.Now().UnixNano())
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, rcv.url, bytes.NewReader(bodies[i]))
				if err != nil {
					first.CompareAndSwap(nil, err)
					continue
				}
				req.Header = hdrs[i].Clone()
				resp, err := c.Do(req)
				if err != nil {
					first.CompareAndSwap(nil, err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					first.CompareAndSwap(nil, fmt.Errorf("receiver answered %s", resp.Status))
				}
				if started != nil {
					started(int(count.Add(1)))
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return fmt.Errorf("bench webhooks: baseline POST: %w", err)
	}
	return ctx.Err()
}

// whReceiver is the bench's webhook receiver: runtime/webhooks/receiver's
// Middleware (signature, timestamp, dedupe) in front of a handler that times
// each event from its emit (sent) to its verified arrival.
type whReceiver struct {
	url     string
	srv     *http.Server
	secret  string
	handler atomic.Pointer[http.Handler]

	sent     []atomic.Int64 // unix ns each measured event was emitted or posted
	seen     []atomic.Bool
	lat      atomic.Pointer[hist]
	got      atomic.Int64 // distinct measured or warm-up events
	requests atomic.Int64 // every request, verified or not
	bad      atomic.Int64 // rejected requests
	last     atomic.Int64 // unix ns of the last first arrival
}

func startReceiver(secret string, capacity int) (*whReceiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench webhooks: receiver: %w", err)
	}
	r := &whReceiver{url: "http://" + l.Addr().String() + "/hooks/parley", secret: secret,
		sent: make([]atomic.Int64, capacity), seen: make([]atomic.Bool, capacity)}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		(*r.handler.Load()).ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	r.reset()
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

// reset forgets what arrived, with a new verifier (and so an empty dedupe cache).
func (r *whReceiver) reset() {
	v, err := receiver.NewVerifier([]string{r.secret}, receiver.WithDedupeCapacity(max(receiver.DefaultDedupeCapacity, 2*len(r.sent))))
	if err != nil {
		panic(err) // a fixed, valid secret
	}
	var h http.Handler = receiver.Middleware(v, http.HandlerFunc(r.serve))
	h = rejectCounter{r, h}
	r.handler.Store(&h)
	for i := range r.sent {
		r.sent[i].Store(0)
		r.seen[i].Store(false)
	}
	r.lat.Store(&hist{})
	r.got.Store(0)
	r.requests.Store(0)
	r.last.Store(0)
}

func (r *whReceiver) serve(w http.ResponseWriter, req *http.Request) {
	now := time.Now().UnixNano()
	d, ok := receiver.FromContext(req.Context())
	if !ok {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if rest, ok := strings.CutPrefix(d.ID, "evt_"); ok && len(rest) > 1 {
		if i, err := strconv.Atoi(rest[1:]); err == nil && i < len(r.sent) && !r.seen[i].Swap(true) {
			if rest[0] == 'm' {
				r.lat.Load().record(time.Duration(now - r.sent[i].Load()))
			}
			r.got.Add(1)
			r.last.Store(now)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// rejectCounter counts the requests the verifier rejected.
type rejectCounter struct {
	r *whReceiver
	h http.Handler
}

func (c rejectCounter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sr := &statusWriter{ResponseWriter: w}
	c.h.ServeHTTP(sr, req)
	if sr.status >= 400 {
		c.r.bad.Add(1)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (r *whReceiver) lastAt() time.Time { return time.Unix(0, r.last.Load()) }

// duplicates is how many requests did not bring a new event since the reset.
func (r *whReceiver) duplicates() int { return int(r.requests.Load() - r.got.Load()) }

// wait waits until n distinct events arrived.
func (r *whReceiver) wait(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for int(r.got.Load()) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d events arrived within %s", r.got.Load(), n, timeout)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(500 * time.Microsecond)
	}
	return nil
}

func (r *whReceiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// progressTicker reports a phase about once a second until stopped.
type progressTicker struct {
	emitted atomic.Int64
	done    chan struct{}
	wg      sync.WaitGroup
}

func (cfg *WebhooksConfig) progress(r *whReceiver, phase string, t0 time.Time) *progressTicker {
	p := &progressTicker{done: make(chan struct{})}
	if cfg.Progress == nil {
		return p
	}
	p.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		prev, prevAt := int64(0), t0
		for {
			select {
			case <-p.done:
				return
			case now := <-t.C:
				got := r.got.Load()
				cfg.Progress(WebhooksProgress{Phase: phase, Elapsed: now.Sub(t0), Emitted: int(p.emitted.Load()),
					Delivered: int(got), Rate: float64(got-prev) / now.Sub(prevAt).Seconds(), P99: r.lat.Load().dist().P99})
				prev, prevAt = got, now
			}
		}
	})
	return p
}

func (p *progressTicker) stop() {
	close(p.done)
	p.wg.Wait()
}
