package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/parley-voice/parley/runtime/bench"
)

func runBenchWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench webhooks", "[flags]", `
Measure durable webhook delivery on this machine. Events go through the
dispatcher's Accept, are stored in JetStream (an embedded NATS server with file
storage in a temporary directory), POSTed signed to a receiver on loopback in
this process (runtime/webhooks/receiver: signature, timestamp and dedupe checks)
and acknowledged. In the same run, the same bodies (signed beforehand) are POSTed
with plain net/http to the same receiver with the same concurrency: that is the
baseline, and durable/baseline the ratio.

Two modes:
  throughput (default)  emit --events events as fast as Accept takes them;
                        report delivered events/s and latency (mostly queueing)
  fixed rate (--rate)   emit --rate events/s for --duration; report latency from
                        emit to receipt, and the baseline's at the same rate

Progress goes to stderr, the results to stdout.`, stderr)
	events := fs.Int("events", 50000, "events to emit in the throughput mode")
	rate := fs.Int("rate", 0, "events per second (fixed-rate mode; 0: throughput mode)")
	duration := fs.Duration("duration", 10*time.Second, "how long the fixed-rate mode emits")
	inFlight := fs.Int("in-flight", 64, "the endpoint's max_in_flight, and the baseline's concurrency")
	calls := fs.Int("calls", 1000, "call ids the events are spread over (per-call ordering lanes)")
	warmup := fs.Int("warmup", 2000, "events delivered before each measurement, not measured")
	dataDir := fs.String("data-dir", "", "JetStream store directory (default: a temporary one, removed afterwards)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the durable measurement to `file`")
	asJSON := fs.Bool("json", false, "print the report as one JSON line")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley bench webhooks: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	cfg := bench.WebhooksConfig{Events: *events, Rate: *rate, Duration: *duration, InFlight: *inFlight,
		Calls: *calls, Warmup: *warmup, DataDir: *dataDir}
	if *rate < 0 || *events < 1 || *inFlight < 1 || *calls < 1 || *warmup < 0 || *duration <= 0 {
		fmt.Fprintln(stderr, "parley bench webhooks: --events, --in-flight, --calls and --duration must be positive, --rate and --warmup not negative")
		return errUsage
	}
	if !*quiet {
		cfg.Progress = func(p bench.WebhooksProgress) {
			fmt.Fprintf(stderr, "  %-13s %4.0fs  %7d sent  %7d delivered  %8.0f/s  p99 %s\n",
				p.Phase, p.Elapsed.Seconds(), p.Emitted, p.Delivered, p.Rate, fmtDur(p.P99))
		}
		mode := fmt.Sprintf("throughput mode, %d events", *events)
		if *rate > 0 {
			mode = fmt.Sprintf("fixed-rate mode, %d events/s for %v", *rate, *duration)
		}
		fmt.Fprintf(stderr, "» %s, GOMAXPROCS %d, %d CPUs; load average %s\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), orUnknown(bench.LoadAverage()))
		fmt.Fprintf(stderr, "» %s, %d in flight, %d calls: baseline (plain net/http), then durable\n", mode, *inFlight, *calls)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.CPUProfile = f
	}
	rep, err := bench.RunWebhooks(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	lat := func(d bench.Dist) string {
		return fmt.Sprintf("p50 %s  p99 %s  max %s", fmtDur(d.P50), fmtDur(d.P99), fmtDur(d.Max))
	}
	fmt.Fprintf(stdout, "webhooks, %s mode: %d events of %d B, %d in flight, %d calls, per-call ordering\n",
		rep.Mode, rep.Events, rep.BodyBytes, rep.InFlight, rep.Calls)
	if rep.Mode == "rate" {
		fmt.Fprintf(stdout, "  rate                 %d events/s\n", rep.Rate)
	}
	fmt.Fprintf(stdout, "  durable              %8.0f events/s delivered (%d in %s; all stored after %s)\n",
		rep.PerSecond, rep.Events, fmtDur(rep.Elapsed), fmtDur(rep.StoredAfter))
	fmt.Fprintf(stdout, "  durable latency      %s  (emit → verified receipt)\n", lat(rep.Latency))
	fmt.Fprintf(stdout, "  net/http baseline    %8.0f events/s (%d in %s, same bodies, receiver and concurrency)\n",
		rep.BaselinePerSecond, rep.Events, fmtDur(rep.BaselineElapsed))
	fmt.Fprintf(stdout, "  baseline latency     %s  (as fast as possible)\n", lat(rep.BaselineLatency))
	if rep.Mode == "rate" {
		fmt.Fprintf(stdout, "  baseline at rate     %s\n", lat(rep.BaselineRateLatency))
	}
	if rep.Mode == "rate" {
		fmt.Fprintf(stdout, "  durable / baseline   %.2f (p99 latency at the same rate)\n", float64(rep.Latency.P99)/float64(max(rep.BaselineRateLatency.P99, 1)))
	} else {
		fmt.Fprintf(stdout, "  durable / baseline   %.2f (throughput)\n", rep.Ratio)
	}
	fmt.Fprintf(stdout, "  cpu                  %.2f cores durable, %.2f baseline\n", rep.CPU, rep.BaselineCPU)
	fmt.Fprintf(stdout, "  dropped %d, duplicates %d, rejected by the receiver %d, unacked at the end %d\n",
		rep.Dropped, rep.Duplicates, rep.ReceiverBad, rep.Unacked)
	fmt.Fprintf(stdout, "  load average before %s, after %s\n", orUnknown(rep.LoadBefore), orUnknown(rep.LoadAfter))
	return nil
}
