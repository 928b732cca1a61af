package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/parley-voice/parley/runtime/bench"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "turns" {
		return runBenchTurns(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "webhooks" {
		return runBenchWebhooks(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("bench", "<benchmark> [flags]", `
Measure Parley on this machine. Benchmarks:

  turns     the runtime's own share of a turn, with many concurrent in-process calls
  webhooks  durable webhook delivery: events/s and latency, against plain net/http

Run 'parley bench <benchmark> --help' for its flags. docs/BENCHMARKS.md records
results and the Go benchmarks of the media hot paths.`, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley bench: unknown benchmark %q\n\n", fs.Arg(0))
	}
	fs.Usage()
	return errUsage
}

func runBenchTurns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench turns", "[flags]", `
Measure the runtime's own share of a turn. For each --calls count, start that many
calls in process (no sockets) on an agent whose speech-to-text, LLM and
text-to-speech are zero-latency fakes, and feed every call a scripted caller in real
time: 1.2 s of speech-like signal at -20 dBFS, then line noise until the agent's
reply has played and a short pause has passed, again and again. VAD, turn taking,
chunking, the TTS worker and pacing run as in production. After a ramp and a
warm-up, every turn completed in the --duration window is measured:

  share    sum of the six stages of turn.completed (the runtime's share; the
           endpointing silence is excluded)
  caller   frame that completes the endpointing silence posted → first reply
           frame at the transport (adds the inbound mailbox wait)
  late     agent frames' lateness against their ideal 20 ms grid
  jitter   |interval − 20 ms| between consecutive agent frames
  driver   how late the bench sent caller frames (the machine's own lag)

plus dropped inbound frames, memory and goroutines per call, and CPU in cores.
With --stream the reply is streamed token by token (in process, or by the OpenAI
client from a loopback SSE fake) and each turn is also timed from the token that
completes the first sentence to the TTS request for it; sse adds a bare SSE
client reading the same server as the same-run baseline.
Progress goes to stderr, the table to stdout. Other load on the machine skews every
figure: the load average is printed with each run.`, stderr)
	callsFlag := fs.String("calls", "1,100,1000", "comma-separated numbers of concurrent calls, one run each")
	duration := fs.Duration("duration", 20*time.Second, "measurement window of each run")
	warmup := fs.Duration("warmup", 4*time.Second, "warm-up after the last call started, before measuring")
	ramp := fs.Duration("ramp", 0, "spread call starts over this long (0: 2ms per call, at most 2s)")
	rate := fs.Int("rate", 16000, "sample rate of the calls' audio in Hz")
	shards := fs.Int("shards", 0, "driver goroutines feeding the calls (0: GOMAXPROCS)")
	stages := fs.Bool("stages", false, "also print each stage of the turn after each run")
	asJSON := fs.Bool("json", false, "print each report as a JSON line instead of the table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of each measurement window to `file` (-N is added for each count when there are several)")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of each window to `file` (-N added likewise)")
	tableTTS := fs.Bool("table-tts", false, "replace the fake TTS's per-sample sine by a table copy, to tell the runtime's cost from the fake's")
	stream := fs.String("stream", "", "stream each reply token by token and time first sentence → TTS request: `mode` inprocess (a pipeline.LLM in process) or sse (the OpenAI client against a loopback fake, with a bare-client baseline)")
	tokenDelay := fs.Duration("token-delay", 0, "pause between streamed tokens with --stream")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parley bench turns: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	counts, err := parseCounts(*callsFlag)
	if err != nil {
		fmt.Fprintf(stderr, "parley bench turns: --calls: %v\n", err)
		return errUsage
	}

	fmt.Fprintf(stderr, "» %s, GOMAXPROCS %d, %d CPUs; load average %s\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), orUnknown(bench.LoadAverage()))
	header := true
	for _, n := range counts {
		cfg := bench.Config{Calls: n, Duration: *duration, Warmup: *warmup, Ramp: *ramp, SampleRate: *rate,
			Shards: *shards, TableTTS: *tableTTS, Stream: bench.StreamMode(*stream), TokenDelay: *tokenDelay}
		if !*quiet {
			cfg.Progress = func(p bench.Progress) {
				fmt.Fprintf(stderr, "  %5d calls  %-7s %4.0fs/%.0fs  %6d turns  share p99 %-9s dropped %d\n",
					n, p.Phase, p.Elapsed.Seconds(), p.Total.Seconds(), p.Turns, fmtDur(p.ShareP99), p.Dropped)
			}
		}
		var closers []func() error
		if *cpuProfile != "" {
			f, err := os.Create(profileName(*cpuProfile, n, len(counts)))
			if err != nil {
				return err
			}
			closers = append(closers, f.Close)
			cfg.CPUProfile = f
		}
		if *memProfile != "" {
			f, err := os.Create(profileName(*memProfile, n, len(counts)))
			if err != nil {
				return err
			}
			closers = append(closers, f.Close)
			cfg.HeapProfile = f
		}
		if !*quiet {
			fmt.Fprintf(stderr, "» %d calls: ramp, %v warm-up, %v window\n", n, *warmup, *duration)
		}
		rep, err := bench.RunTurns(ctx, cfg)
		for _, c := range closers {
			if cerr := c(); cerr != nil && err == nil {
				err = cerr
			}
		}
		if err != nil {
			return err
		}
		if *asJSON {
			b, err := json.Marshal(rep)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		if header {
			header = false
			printRow(stdout, benchColumns, "calls", "turns", "share p50", "p90", "p99", "max", "caller p50", "p99",
				"late p99", "jitter p99", "driver p99", "dropped", "live/call", "heap/call", "stack/call", "gor/call", "cpu", "GCs", "load 1m 5m 15m")
		}
		printRow(stdout, benchColumns, fmt.Sprint(n), fmt.Sprint(rep.Turns), fmtDur(rep.Share.P50), fmtDur(rep.Share.P90),
			fmtDur(rep.Share.P99), fmtDur(rep.Share.Max), fmtDur(rep.CallerSide.P50), fmtDur(rep.CallerSide.P99),
			fmtDur(rep.OutLateness.P99), fmtDur(rep.OutJitter.P99), fmtDur(rep.DriverLateness.P99), fmt.Sprint(rep.DroppedIn),
			fmtBytes(rep.Memory.LiveHeap), fmtBytes(rep.Memory.HeapInuse), fmtBytes(rep.Memory.Stack),
			fmt.Sprintf("%.1f", rep.GoroutinesPerCall), fmt.Sprintf("%.2f", rep.CPU), fmt.Sprint(rep.GCs), rep.LoadAfter)
		if *stages {
			for _, s := range rep.Stages {
				printRow(stdout, benchColumns, "", s.Name, fmtDur(s.P50), fmtDur(s.P90), fmtDur(s.P99), fmtDur(s.Max))
			}
		}
		if st := rep.Stream; st != nil {
			fmt.Fprintf(stdout, "%s %s, token delay %v: first sentence's last token → TTS request  p50 %s  p90 %s  p99 %s  max %s  (%d turns)\n",
				strings.Repeat(" ", benchColumns[0]), st.Mode, st.TokenDelay, fmtDur(st.ToTTS.P50), fmtDur(st.ToTTS.P90), fmtDur(st.ToTTS.P99), fmtDur(st.ToTTS.Max), st.ToTTS.N)
			if st.Baseline.N > 0 {
				fmt.Fprintf(stdout, "%s bare SSE client, same server write → chunk parsed  p50 %s  p90 %s  p99 %s  max %s  (%d streams); runtime share ≈ p50 %s  p99 %s\n",
					strings.Repeat(" ", benchColumns[0]), fmtDur(st.Baseline.P50), fmtDur(st.Baseline.P90), fmtDur(st.Baseline.P99), fmtDur(st.Baseline.Max), st.Baseline.N,
					fmtDur(st.ToTTS.P50-st.Baseline.P50), fmtDur(st.ToTTS.P99-st.Baseline.P99))
				fmt.Fprintf(stdout, "%s OpenAI client hands the chunk to the runtime → TTS request  p50 %s  p90 %s  p99 %s  max %s\n",
					strings.Repeat(" ", benchColumns[0]), fmtDur(st.FromClient.P50), fmtDur(st.FromClient.P90), fmtDur(st.FromClient.P99), fmtDur(st.FromClient.Max))
			}
		}
		if w := warnings(rep); w != "" && !*quiet {
			fmt.Fprintf(stderr, "  ! %d calls: %s\n", n, w)
		}
	}
	return nil
}

// benchColumns are the widths of the table's columns; the second is wide enough
// for the stage names printed under it with --stages.
var benchColumns = []int{6, 16, 10, 8, 8, 8, 11, 8, 9, 11, 11, 8, 10, 10, 11, 9, 5, 4, 16}

// printRow prints cells right-aligned in columns of the given widths.
func printRow(w io.Writer, widths []int, cells ...string) {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%*s", widths[i], c)
	}
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
}

// parseCounts reads "1,100,1000".
func parseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number of calls", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// profileName adds -N before the extension when there are several runs.
func profileName(path string, n, runs int) string {
	if runs == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), n, ext)
}

// warnings lists what makes a run's figures suspect.
func warnings(r bench.Report) string {
	var w []string
	if r.Stalls > 0 {
		w = append(w, fmt.Sprintf("%d turns not answered within 10s", r.Stalls))
	}
	if r.EndedEarly > 0 {
		w = append(w, fmt.Sprintf("%d calls ended early", r.EndedEarly))
	}
	if r.IncompleteTurns > 0 {
		w = append(w, fmt.Sprintf("%d turns without every stage", r.IncompleteTurns))
	}
	if r.Stream != nil && r.Stream.Unmatched > 0 {
		w = append(w, fmt.Sprintf("%d first sentences not matched to their token", r.Stream.Unmatched))
	}
	if r.LeakedGoroutines > 0 {
		w = append(w, fmt.Sprintf("%d goroutines outlived the calls", r.LeakedGoroutines))
	}
	return strings.Join(w, "; ")
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func fmtBytes(b int64) string {
	switch {
	case b >= 10<<20 || b <= -10<<20:
		return fmt.Sprintf("%dMiB", b>>20)
	case b >= 10<<10 || b <= -10<<10:
		return fmt.Sprintf("%dKiB", b>>10)
	}
	return fmt.Sprintf("%dB", b)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
