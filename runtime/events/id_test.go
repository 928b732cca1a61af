package events_test

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/parley-voice/parley/runtime/events"
)

var ulidRe = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

func TestIDFormats(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		id, prefix string
	}{
		{events.NewEventID(now), "evt_"},
		{events.NewCallID(now), "call_"},
		{events.NewULID(now), ""},
	} {
		rest, ok := strings.CutPrefix(tt.id, tt.prefix)
		if !ok || !ulidRe.MatchString(rest) {
			t.Errorf("id %q is not %q + a ULID", tt.id, tt.prefix)
			continue
		}
		u := ulid.MustParse(rest)
		if got := ulid.Time(u.Time()); got.UnixMilli() < now.UnixMilli() || got.Sub(now) > time.Minute {
			t.Errorf("id %q carries time %v, minted at %v", tt.id, got, now)
		}
	}
}

// TestULIDsUniqueAndSortable mints 100k ids from many goroutines at once: all are
// distinct, each goroutine's ids sort in the order it minted them (even within
// one millisecond, and although goroutines read the clock before taking the id
// source's lock), and each carries a time no earlier than the one it was given.
func TestULIDsUniqueAndSortable(t *testing.T) {
	const workers, per = 16, 100_000 / 16
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out := make([]string, 0, per)
			for range per {
				now := time.Now()
				id := events.NewEventID(now)
				u := ulid.MustParse(strings.TrimPrefix(id, "evt_"))
				if u.Time() < uint64(now.UnixMilli()) {
					t.Errorf("id %s carries %d ms, earlier than its time %d ms", id, u.Time(), now.UnixMilli())
					return
				}
				out = append(out, id)
			}
			ids[w] = out
		}()
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := make(map[string]bool, workers*per)
	for w, list := range ids {
		for i, id := range list {
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
			if i > 0 && list[i-1] >= id {
				t.Fatalf("goroutine %d minted %s after %s: ids do not sort in minting order", w, id, list[i-1])
			}
		}
	}
	if len(seen) != workers*per {
		t.Fatalf("%d ids, want %d", len(seen), workers*per)
	}
	// Sorting the strings sorts by embedded time.
	all := make([]string, 0, len(seen))
	for id := range seen {
		all = append(all, id)
	}
	slices.Sort(all)
	var last uint64
	for _, id := range all {
		ms := ulid.MustParse(strings.TrimPrefix(id, "evt_")).Time()
		if ms < last {
			t.Fatalf("lexical order is not time order at %s", id)
		}
		last = ms
	}
}

// TestULIDOddClocks checks that clocks a test (or a broken host) may supply do not
// panic, and that a clock read a little before the previous id still sorts after it.
func TestULIDOddClocks(t *testing.T) {
	for _, at := range []time.Time{
		{},                  // zero time, before the Unix epoch
		time.Unix(-1000, 0), // before the epoch
		time.Unix(0, 0),     // the epoch
		time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), // past the largest ULID time
		time.Now().Add(-time.Hour),                   // the clock stepped back
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("NewULID(%v) panicked: %v", at, r)
				}
			}()
			if id := events.NewULID(at); !ulidRe.MatchString(id) {
				t.Fatalf("NewULID(%v) = %q", at, id)
			}
		}()
	}
	now := time.Now()
	prev := events.NewULID(now)
	for _, back := range []time.Duration{0, 10 * time.Millisecond, 500 * time.Millisecond} {
		id := events.NewULID(now.Add(-back))
		if id <= prev {
			t.Fatalf("id minted with the clock %v behind is %s, not after %s", back, id, prev)
		}
		prev = id
	}
	// After a far step back the clock is followed again.
	id := events.NewULID(now.Add(-time.Hour))
	if got := ulid.MustParse(id).Time(); got != uint64(now.Add(-time.Hour).UnixMilli()) {
		t.Fatalf("id after the clock stepped back an hour carries %d ms, want %d", got, now.Add(-time.Hour).UnixMilli())
	}
}

func BenchmarkNewEventID(b *testing.B) {
	now := time.Now()
	for b.Loop() {
		_ = events.NewEventID(now)
	}
}
