package events_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
)

func ev(typ, callID string, seq uint64) *events.Event {
	return &events.Event{Type: typ, ID: events.NewEventID(time.Now()), APIVersion: events.APIVersion,
		CallID: callID, AgentID: "demo", Sequence: seq, Timestamp: time.Now(), Payload: map[string]any{}}
}

// drain returns the types of the events buffered in sub, without waiting.
func drain(sub *events.Subscription) []string {
	var got []string
	for {
		select {
		case e, ok := <-sub.C():
			if !ok {
				return got
			}
			got = append(got, e.Type)
		default:
			return got
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, typ string
		want         bool
	}{
		{"*", "call.started", true},
		{"*", "media.stream.connected", true},
		{"*", "", true},
		{"call.started", "call.started", true},
		{"call.started", "call.ended", false},
		{"call.*", "call.started", true},
		{"call.*", "call.silence_timeout", true},
		{"call.*", "call", false},
		{"call.*", "speech.started", false},
		{"call.*", "callx.started", false},
		{"media.*", "media.stream.connected", true}, // "." is not a separator
		{"*.started", "speech.started", true},
		{"*.started", "speech.stopped", false},
		{"agent.speech.*", "agent.speech.ended", true},
		{"speech.?tarted", "speech.started", true},
		{"[", "[", true},             // an exact match wins even for a malformed glob
		{"[", "call.started", false}, // a malformed glob matches nothing else
		{"", "call.started", false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := events.Match(tt.pattern, tt.typ); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.typ, got, tt.want)
		}
	}
	// Every catalogue type matches "*" and its own name.
	for _, typ := range events.Types {
		if !events.Match("*", typ) || !events.Match(typ, typ) {
			t.Errorf("%s does not match * or itself", typ)
		}
	}
}

func TestSubscribeFilters(t *testing.T) {
	b := events.NewBus()
	defer b.Close()
	all := b.Subscribe(64, "")
	star := b.Subscribe(64, "", "*")
	calls := b.Subscribe(64, "", "call.*")
	exact := b.Subscribe(64, "", "dtmf.received")
	multi := b.Subscribe(64, "", "speech.*", "dtmf.received")
	one := b.Subscribe(64, "call_A")
	oneCalls := b.Subscribe(64, "call_B", "call.*")

	for i, e := range []*events.Event{
		ev("call.started", "call_A", 1),
		ev("speech.started", "call_A", 2),
		ev("call.started", "call_B", 1),
		ev("dtmf.received", "call_B", 2),
		ev("call.ended", "call_B", 3),
		ev("call.ended", "call_A", 3),
	} {
		_ = i
		b.Publish(e)
	}
	check := func(name string, sub *events.Subscription, want ...string) {
		t.Helper()
		got := drain(sub)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s got %v, want %v", name, got, want)
		}
		if sub.Dropped() != 0 {
			t.Errorf("%s dropped %d", name, sub.Dropped())
		}
	}
	check("no pattern", all, "call.started", "speech.started", "call.started", "dtmf.received", "call.ended", "call.ended")
	check("*", star, "call.started", "speech.started", "call.started", "dtmf.received", "call.ended", "call.ended")
	check("call.*", calls, "call.started", "call.started", "call.ended", "call.ended")
	check("exact", exact, "dtmf.received")
	check("two patterns", multi, "speech.started", "dtmf.received")
	check("call_A", one, "call.started", "speech.started", "call.ended")
	check("call_B call.*", oneCalls, "call.started", "call.ended")
}

func TestFullSubscriberDropsWithoutBlocking(t *testing.T) {
	b := events.NewBus()
	defer b.Close()
	slow := b.Subscribe(4, "")    // never read
	fast := b.Subscribe(1000, "") // read after
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			b.Publish(ev("speech.partial", "call_A", uint64(i+1)))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a full subscriber")
	}
	if got := slow.Dropped(); got != 96 {
		t.Errorf("slow subscriber dropped %d, want 96", got)
	}
	if got := len(drain(slow)); got != 4 {
		t.Errorf("slow subscriber kept %d events, want the first 4", got)
	}
	if got := fast.Dropped(); got != 0 {
		t.Errorf("fast subscriber dropped %d", got)
	}
	if got := len(drain(fast)); got != 100 {
		t.Errorf("fast subscriber got %d events, want 100", got)
	}
}

func TestSubscribeDefaultSize(t *testing.T) {
	b := events.NewBus()
	defer b.Close()
	sub := b.Subscribe(0, "")
	for i := range 2000 {
		b.Publish(ev("speech.partial", "c", uint64(i)))
	}
	if got, dropped := len(drain(sub)), sub.Dropped(); got != 1024 || dropped != 976 {
		t.Errorf("size 0 buffered %d and dropped %d, want the default 1024 and 976", got, dropped)
	}
}

func TestCloseClosesChannels(t *testing.T) {
	b := events.NewBus()
	s1 := b.Subscribe(8, "")
	s2 := b.Subscribe(8, "call_A", "call.*")
	b.Publish(ev("call.started", "call_A", 1))
	b.Close()
	b.Close() // idempotent

	// Buffered events are still delivered, then the channel is closed.
	for _, s := range []*events.Subscription{s1, s2} {
		select {
		case e, ok := <-s.C():
			if !ok || e.Type != "call.started" {
				t.Fatalf("first receive after Close = %v, %v; want the buffered event", e, ok)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("buffered event lost")
		}
		select {
		case _, ok := <-s.C():
			if ok {
				t.Fatal("channel delivers after Close")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not close the subscription channel")
		}
		s.Close() // after the bus closed: no panic
	}
	// Publish after Close is a no-op; Subscribe after Close gets a closed channel.
	b.Publish(ev("call.ended", "call_A", 2))
	late := b.Subscribe(8, "")
	if _, ok := <-late.C(); ok {
		t.Fatal("subscription made after Close delivers events")
	}
	late.Close()
}

func TestSubscriptionCloseUnsubscribes(t *testing.T) {
	b := events.NewBus()
	defer b.Close()
	a := b.Subscribe(8, "")
	keep := b.Subscribe(8, "")
	a.Close()
	a.Close() // idempotent
	b.Publish(ev("call.started", "c", 1))
	if _, ok := <-a.C(); ok {
		t.Fatal("closed subscription still receives")
	}
	if a.Dropped() != 0 {
		t.Fatalf("closed subscription counted %d drops", a.Dropped())
	}
	if got := drain(keep); len(got) != 1 {
		t.Fatalf("other subscription got %v", got)
	}
}

type recordSink struct {
	mu  sync.Mutex
	got []string
}

func (s *recordSink) Accept(e *events.Event) {
	s.mu.Lock()
	s.got = append(s.got, e.Type)
	s.mu.Unlock()
}

func TestSinksSeeEveryEvent(t *testing.T) {
	b := events.NewBus()
	s1, s2 := &recordSink{}, &recordSink{}
	b.AddSink(s1)
	b.AddSink(s2)
	filtered := b.Subscribe(1, "", "dtmf.*") // a full subscriber does not starve sinks
	for _, typ := range []string{"call.started", "speech.started", "dtmf.received", "dtmf.received", "call.ended"} {
		b.Publish(ev(typ, "c", 0))
	}
	b.Close()
	b.Publish(ev("late", "c", 0))
	want := "[call.started speech.started dtmf.received dtmf.received call.ended]"
	for i, s := range []*recordSink{s1, s2} {
		if got := fmt.Sprint(s.got); got != want {
			t.Errorf("sink %d got %s, want %s", i, got, want)
		}
	}
	if filtered.Dropped() != 1 {
		t.Errorf("filtered subscriber dropped %d, want 1", filtered.Dropped())
	}
}

// TestConcurrentUse runs publishers, subscribers that come and go, and Close at
// once; with -race it checks the bus's locking.
func TestConcurrentUse(t *testing.T) {
	b := events.NewBus()
	var published atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				b.Publish(ev("speech.partial", fmt.Sprintf("call_%d", p), uint64(i)))
				published.Add(1)
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := b.Subscribe(16, "", "speech.*")
				for range 8 {
					select {
					case <-s.C():
					case <-stop:
					}
				}
				s.Close()
			}
		}()
	}
	deadline := time.After(10 * time.Second)
	for published.Load() < 20000 {
		select {
		case <-deadline:
			t.Fatalf("only %d events published in 10 s", published.Load())
		default:
			time.Sleep(time.Millisecond)
		}
	}
	b.Close()
	close(stop)
	wg.Wait()
}

func BenchmarkPublishTwoSubscribers(b *testing.B) {
	bus := events.NewBus()
	defer bus.Close()
	var wg sync.WaitGroup
	for _, pat := range []string{"*", "speech.*"} {
		s := bus.Subscribe(4096, "", pat)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range s.C() {
			}
		}()
	}
	e := ev("speech.partial", "call_A", 1)
	b.ReportAllocs()
	for b.Loop() {
		bus.Publish(e)
	}
	b.StopTimer()
	bus.Close()
	wg.Wait()
}
