package bench

import (
	"os"
	"strings"
	"time"
)

// Report is what RunTurns measured during its window.
type Report struct {
	Calls  int
	Window time.Duration

	// Turns is the number of caller turns completed during the window with every
	// stage timed.
	Turns int
	// IncompleteTurns completed without every stage (interrupted, no audio).
	IncompleteTurns int
	// Stalls counts turns the agent had not answered after 10 s.
	Stalls int
	// EndedEarly counts calls that ended before the bench hung up.
	EndedEarly int

	// Share is the runtime's own share of each turn: the sum of the six stages
	// of turn.completed. With zero-latency providers all of it is the runtime;
	// the end_of_turn stage already excludes the endpointing silence.
	Share Dist
	// Stages are the six stages on their own, in pipeline.Stages order.
	Stages [6]StageDist
	// CallerSide is measured from outside: from posting the frame that
	// completes the endpointing silence to the reply's first frame reaching the
	// transport. Unlike Share it includes the inbound frame's wait in the mailbox.
	CallerSide Dist
	// Stream is set by streaming runs (Config.Stream): first sentence's last
	// token → TTS request, and the SSE baseline.
	Stream *StreamReport `json:",omitempty"`

	// OutLateness is how late the agent's frames reached the transport against
	// the ideal 20 ms grid of their talkspurt.
	OutLateness Dist
	// OutJitter is |interval − 20 ms| between consecutive agent frames.
	OutJitter Dist
	// DriverLateness is how late the bench itself sent the caller frames; when
	// it grows, the machine (not only the runtime) is saturated.
	DriverLateness Dist

	// FramesIn and FramesOut are the frames sent to and written by the calls
	// during the window; DroppedIn counts inbound frames the calls dropped
	// (mailbox full) over the whole run.
	FramesIn, FramesOut, DroppedIn uint64

	Memory Memory
	// GoroutinesPerCall is (goroutines mid-window − before any call) / Calls.
	GoroutinesPerCall float64
	// LeakedGoroutines is how many more goroutines ran after every call had
	// ended than before the first started (0 expected).
	LeakedGoroutines int

	// CPU is the process's CPU time during the window divided by its length,
	// in cores (0 where unavailable).
	CPU float64
	// GCs is the number of garbage collections during the window; GCPauseMax
	// and GCPauseTotal are their stop-the-world pauses.
	GCs                      uint32
	GCPauseMax, GCPauseTotal time.Duration

	// LoadBefore and LoadAfter are /proc/loadavg at the start and end of the run
	// ("" where unavailable): other work on the machine skews every figure.
	LoadBefore, LoadAfter string
}

// StageDist is the distribution of one stage of the turn timeline.
type StageDist struct {
	Name string
	Dist
}

// Memory is the growth of the Go runtime's memory per call, against a baseline
// taken before the first call started.
type Memory struct {
	// HeapInuse is heap spans in use mid-window, garbage included.
	HeapInuse int64
	// LiveHeap is the heap still reachable after a forced GC at the end of the
	// window, with every call live.
	LiveHeap int64
	// Stack is goroutine stack memory mid-window.
	Stack int64
	// Sys is all memory obtained from the OS mid-window (heap, stacks, runtime).
	Sys int64
}

// LoadAverage returns the first three fields of /proc/loadavg, or "".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
