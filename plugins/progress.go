package plugins

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits on a progress report, applied by ReportProgress.
const (
	// MaxProgressMessage is the most bytes of Progress.Message kept.
	MaxProgressMessage = 500
	// MaxProgressSay is the most bytes of Progress.Say kept: a short phrase.
	MaxProgressSay = 200
)

// Progress is a report from a tool that is still running.
type Progress struct {
	// Message says what the tool is doing ("fetched 2 of 5 pages"), for events
	// and logs. It is not spoken.
	Message string
	// Say, when set, is a short phrase the agent may speak to the caller while
	// the tool keeps running ("Still checking the calendar…"). The call speaks
	// it only if the agent is silent and has not spoken a progress phrase in the
	// last few seconds, never once the tool has finished; it does not enter the
	// conversation history the model sees.
	Say string
	// Fraction, when above 0, is the share of the work done (values above 1
	// count as 1). Zero, negative or NaN means unknown.
	Fraction float64
}

// ProgressFunc receives a tool's progress reports. It is called from the
// tool's goroutine, so it must be safe for concurrent use and must not block.
type ProgressFunc func(Progress)

type progressKey struct{}

// WithProgress returns a copy of ctx whose tool progress reports go to f. The
// call runtime sets one on every tool run; tests and other runtimes may too.
func WithProgress(ctx context.Context, f ProgressFunc) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

// ReportProgress tells whoever runs the tool how far it has got: the call emits
// a tool.progress event and may speak p.Say (see Progress). It is a no-op when
// ctx carries no reporter (a tool run outside a call) and for an empty report.
// It never blocks: a tool may report as often as it likes, and reports that come
// faster than the runtime forwards them are merged (see ProgressThrottle).
func ReportProgress(ctx context.Context, p Progress) {
	f, _ := ctx.Value(progressKey{}).(ProgressFunc)
	if f == nil {
		return
	}
	p.Message = clip(strings.TrimSpace(p.Message), MaxProgressMessage)
	p.Say = clip(strings.TrimSpace(p.Say), MaxProgressSay)
	switch {
	case math.IsNaN(p.Fraction) || p.Fraction < 0:
		p.Fraction = 0
	case p.Fraction > 1:
		p.Fraction = 1
	}
	if p.Message == "" && p.Say == "" && p.Fraction == 0 {
		return
	}
	f(p)
}

// clip cuts s to at most n bytes at a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ProgressThrottle forwards progress reports at most once per interval, so a
// chatty tool cannot flood the call's events. The first report goes out at
// once; a report that comes sooner than interval after the last one sent is
// held, replacing any report already held (keeping the held Say phrase if the
// newer report has none), and goes out when the interval has passed. The latest
// report is thus never lost, only delayed. It is safe for concurrent use.
type ProgressThrottle struct {
	interval time.Duration
	deliver  ProgressFunc

	mu      sync.Mutex
	last    time.Time // when a report was last delivered
	held    *Progress
	timer   *time.Timer
	stopped bool
}

// NewProgressThrottle returns a throttle that passes reports to deliver, at most
// one per interval. deliver is called with the throttle's lock held, from the
// reporting goroutine or a timer's; it must not block nor report to the same
// throttle.
func NewProgressThrottle(interval time.Duration, deliver ProgressFunc) *ProgressThrottle {
	return &ProgressThrottle{interval: interval, deliver: deliver}
}

// Report forwards p now or holds it for later; after Stop it does nothing. Its
// method value is a ProgressFunc for WithProgress.
func (t *ProgressThrottle) Report(p Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if t.held != nil {
		if p.Say == "" {
			p.Say = t.held.Say
		}
		t.held = &p
		return
	}
	now := time.Now()
	wait := t.interval - now.Sub(t.last)
	if t.last.IsZero() || wait <= 0 {
		t.last = now
		t.deliver(p)
		return
	}
	t.held = &p
	t.timer = time.AfterFunc(wait, t.flush)
}

// flush delivers the held report when its interval has passed.
func (t *ProgressThrottle) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || t.held == nil {
		return
	}
	p := *t.held
	t.held, t.timer = nil, nil
	t.last = time.Now()
	t.deliver(p)
}

// Stop delivers the held report, if any, at once and makes later reports
// no-ops. Call it when the tool has returned (a tool that ignores its deadline
// may go on reporting). Stop is idempotent; once it returns, deliver is not
// called again.
func (t *ProgressThrottle) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if t.held != nil {
		p := *t.held
		t.held = nil
		t.deliver(p)
	}
}
