package webhooks

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/parley-voice/parley/agents"
)

func fixed(r float64) func() float64 { return func() float64 { return r } }

func TestNextAttemptSchedule(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	failed := Attempt{Outcome: OutcomeRetry, Status: 500}
	// rnd = 0.5 puts the ±jitter at zero: the schedule itself.
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	var total time.Duration
	for n := 1; n <= 7; n++ {
		at, ok := NextAttempt(RetryPolicy{}, n, failed, now, fixed(0.5))
		if !ok || at.Sub(now) != want[n-1] {
			t.Errorf("after attempt %d: %s, %v; want %s", n, at.Sub(now), ok, want[n-1])
		}
		total += at.Sub(now)
	}
	if total != 27*time.Hour+35*time.Minute+5*time.Second {
		t.Errorf("whole schedule spans %s", total)
	}
	if at, ok := NextAttempt(RetryPolicy{}, 8, failed, now, fixed(0.5)); ok {
		t.Errorf("after the 8th attempt: retry at %s, want dead-letter", at)
	}
	if _, ok := NextAttempt(RetryPolicy{}, 20, failed, now, nil); ok {
		t.Error("attempt 20 retried")
	}
}

func TestNextAttempt(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	short := RetryPolicy{Schedule: []agents.Duration{0, agents.Duration(time.Second), agents.Duration(time.Minute)}}
	noJitter := RetryPolicy{Jitter: new(0.0)}
	date := func(d time.Duration) time.Duration {
		ra, ok := ParseRetryAfter(now.Add(d).Format(http.TimeFormat), now)
		if !ok {
			t.Fatal("bad date")
		}
		return ra
	}
	tests := []struct {
		name   string
		policy RetryPolicy
		n      int
		a      Attempt
		r      float64
		want   time.Duration // -1: no further attempt
	}{
		{"jitter low bound", RetryPolicy{}, 2, Attempt{Outcome: OutcomeRetry}, 0, 4 * time.Minute},
		{"jitter high bound", RetryPolicy{}, 2, Attempt{Outcome: OutcomeRetry}, 1, 6 * time.Minute},
		{"no jitter", noJitter, 2, Attempt{Outcome: OutcomeRetry}, 0, 5 * time.Minute},
		{"custom schedule", short, 2, Attempt{Outcome: OutcomeRetry}, 0.5, time.Minute},
		{"custom schedule exhausted", short, 3, Attempt{Outcome: OutcomeRetry}, 0.5, -1},
		{"attempt 0 counts as the first", RetryPolicy{}, 0, Attempt{Outcome: OutcomeRetry}, 0.5, 5 * time.Second},
		{"delivered", RetryPolicy{}, 1, Attempt{Outcome: OutcomeDelivered, Status: 200}, 0.5, -1},
		{"gone", RetryPolicy{}, 1, Attempt{Outcome: OutcomeGone, Status: 410}, 0.5, -1},
		{"rejected", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRejected}, 0.5, -1},
		{"unknown outcome", RetryPolicy{}, 1, Attempt{}, 0.5, -1},

		{"retry-after seconds lengthens", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: 10 * time.Minute}, 0.5, 10 * time.Minute},
		{"retry-after date lengthens", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: date(3 * time.Minute)}, 0.5, 3 * time.Minute},
		{"retry-after never shortens", RetryPolicy{}, 3, Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: time.Second}, 0.5, 30 * time.Minute},
		{"retry-after honoured exactly, no jitter", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: 10 * time.Minute}, 0.99, 10 * time.Minute},
		{"retry-after capped", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: 48 * time.Hour}, 0.5, 24 * time.Hour},
		{"retry-after custom cap", RetryPolicy{MaxRetryAfter: agents.Duration(time.Hour)}, 1, Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: 3 * time.Hour}, 0.5, time.Hour},
		{"cap never shortens the schedule", RetryPolicy{MaxRetryAfter: agents.Duration(time.Hour)}, 6, Attempt{Outcome: OutcomeRetry, RetryAfter: 3 * time.Hour}, 0.5, 10 * time.Hour},
		{"retry-after on the last attempt", RetryPolicy{}, 8, Attempt{Outcome: OutcomeRetry, Status: 503, RetryAfter: time.Minute}, 0.5, -1},

		{"429 floor", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 429}, 0, time.Minute},
		{"429 floor spread upwards", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 429}, 0.5, 66 * time.Second},
		{"429 floor without jitter", noJitter, 1, Attempt{Outcome: OutcomeRetry, Status: 429}, 0.9, time.Minute},
		{"429 short retry-after raised to the floor", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 429, RetryAfter: 10 * time.Second}, 0, time.Minute},
		{"429 long retry-after", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 429, RetryAfter: 2 * time.Minute}, 0.5, 2 * time.Minute},
		{"429 later in the schedule", RetryPolicy{}, 2, Attempt{Outcome: OutcomeRetry, Status: 429}, 0.5, 5 * time.Minute},
		{"timeout floor", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Timeout: true}, 0, time.Minute},
		{"custom throttle floor", RetryPolicy{MinAfterThrottle: agents.Duration(2 * time.Minute)}, 1, Attempt{Outcome: OutcomeRetry, Timeout: true}, 0, 2 * time.Minute},
		{"503 has no floor", RetryPolicy{}, 1, Attempt{Outcome: OutcomeRetry, Status: 503}, 0.5, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, ok := NextAttempt(tt.policy, tt.n, tt.a, now, fixed(tt.r))
			if tt.want < 0 {
				if ok {
					t.Fatalf("retry at +%s, want no further attempt", at.Sub(now))
				}
				return
			}
			if !ok {
				t.Fatal("no further attempt")
			}
			if got := at.Sub(now); got != tt.want {
				t.Errorf("retry at +%s, want +%s", got, tt.want)
			}
		})
	}
}

// TestNextAttemptJitterBounds checks with real randomness that every delay
// stays within ±20 % of its step, and that the spread is used.
func TestNextAttemptJitterBounds(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	steps := DefaultSchedule()
	for n := 1; n < len(steps); n++ {
		step := steps[n].Std()
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for range 2000 {
			at, ok := NextAttempt(RetryPolicy{}, n, Attempt{Outcome: OutcomeRetry}, now, rng.Float64)
			if !ok {
				t.Fatal("no retry")
			}
			d := at.Sub(now)
			lo, hi = min(lo, d), max(hi, d)
		}
		if float64(lo) < 0.8*float64(step) || float64(hi) > 1.2*float64(step) {
			t.Errorf("step %s: delays in [%s, %s], outside ±20%%", step, lo, hi)
		}
		if float64(lo) > 0.82*float64(step) || float64(hi) < 1.18*float64(step) {
			t.Errorf("step %s: delays in [%s, %s], jitter barely used", step, lo, hi)
		}
	}
}
