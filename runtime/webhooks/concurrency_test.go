package webhooks

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrencyLimiter(t *testing.T) {
	c := NewConcurrencyLimiter(2)
	ctx := context.Background()
	if err := c.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.TryAcquire() {
		t.Fatal("second slot refused")
	}
	if c.TryAcquire() || c.InFlight() != 2 || c.Limit() != 2 {
		t.Fatalf("third slot taken; in flight %d", c.InFlight())
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := c.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire when full = %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- c.Acquire(ctx) }()
	c.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	c.Release()
	c.Release()
	if c.InFlight() != 0 {
		t.Fatalf("in flight %d after releasing all", c.InFlight())
	}
	defer func() {
		if recover() == nil {
			t.Error("Release without Acquire did not panic")
		}
	}()
	c.Release()
}

func TestConcurrencyLimiterBounds(t *testing.T) {
	c := NewConcurrencyLimiter(3)
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := c.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			cur.Add(-1)
			c.Release()
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrency %d, want 3", p)
	}
}
