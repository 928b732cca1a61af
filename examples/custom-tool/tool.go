package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/parley-voice/parley/plugins"
)

// StockArgs are the arguments of check_stock and hold_item. The struct becomes
// the JSON Schema the agent (a flow here, or a language model) sees: product is
// required and must be one of the enum values, so the functions never see
// anything else.
type StockArgs struct {
	Product string `json:"product" jsonschema:"enum=mugs,enum=kettles,enum=glasses,description=The product line to check"`
}

// Stock is check_stock's result; the flow reads its fields as
// {{result.in_stock}} and {{result.restock}}.
type Stock struct {
	Product string `json:"product"`
	InStock int    `json:"in_stock"`
	Restock string `json:"restock"`
}

// Hold is hold_item's result: the number the caller quotes at the counter.
type Hold struct {
	Product string `json:"product"`
	Hold    int    `json:"hold"`
}

// errNoneLeft is hold_item's error when the product is out of stock.
var errNoneLeft = errors.New("none left in stock to put aside")

// Inventory stands in for a shop's stock system. Tools serve concurrent calls,
// so it guards its state with a mutex.
type Inventory struct {
	// Latency is how long the stock system takes to answer (zero: at once).
	Latency time.Duration
	// SlowAfter is how long check_stock waits for the stock system before
	// telling the caller it is still looking (default one second).
	SlowAfter time.Duration

	mu     sync.Mutex
	counts map[string]int
	holds  map[string]Hold // by idempotency key
	nHolds int
}

// NewInventory returns the example shop's stock.
func NewInventory() *Inventory {
	return &Inventory{counts: map[string]int{"mugs": 42, "kettles": 7, "glasses": 0}, holds: map[string]Hold{}}
}

// Check answers how many of a product are in stock. When the stock system is
// slow it reports progress, which the call turns into a tool.progress event and
// a short spoken phrase, so the caller is not left in silence.
func (inv *Inventory) Check(ctx context.Context, a StockArgs) (any, error) {
	slowAfter := inv.SlowAfter
	if slowAfter <= 0 {
		slowAfter = time.Second
	}
	// A report after the tool has returned is dropped by the runtime, so the
	// timer racing with the answer is harmless.
	slow := time.AfterFunc(slowAfter, func() {
		plugins.ReportProgress(ctx, plugins.Progress{Message: "waiting for the stock system", Say: "Let me check the stockroom."})
	})
	defer slow.Stop()
	if err := inv.wait(ctx); err != nil {
		return nil, err
	}
	inv.mu.Lock()
	n := inv.counts[a.Product]
	inv.mu.Unlock()
	restock := "no restock needed"
	if n < 10 {
		restock = "more arrive on monday"
	}
	return Stock{Product: a.Product, InStock: n, Restock: restock}, nil
}

// HoldItem puts one unit of a product aside. It is a write, so it is keyed by
// the tool call's idempotency key: if the same tool call reaches it twice (a
// retry after a timeout, say), the caller still gets one hold, not two.
func (inv *Inventory) HoldItem(ctx context.Context, a StockArgs) (any, error) {
	if err := inv.wait(ctx); err != nil {
		return nil, err
	}
	key := plugins.IdempotencyKey(ctx) // "" outside a call: no deduplication
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if h, ok := inv.holds[key]; ok && key != "" {
		return h, nil
	}
	if inv.counts[a.Product] == 0 {
		return nil, errNoneLeft
	}
	inv.counts[a.Product]--
	inv.nHolds++
	h := Hold{Product: a.Product, Hold: inv.nHolds}
	if key != "" {
		inv.holds[key] = h
	}
	return h, nil
}

// wait stands for the round trip to the stock system.
func (inv *Inventory) wait(ctx context.Context) error {
	if inv.Latency <= 0 {
		return nil
	}
	t := time.NewTimer(inv.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newTools returns the tool environment the agent draws from: the built-ins
// (end_call, transfer_call, …) plus check_stock and hold_item. Registering into
// a clone keeps the process-wide plugins.Default() untouched; a program that
// prefers the global registry calls plugins.RegisterTool from an init function
// instead.
func newTools(inv *Inventory) (*plugins.Environment, error) {
	check, err := plugins.NewFunc("check_stock", "Check how many of a product are in stock.", inv.Check)
	if err != nil {
		return nil, err
	}
	hold, err := plugins.NewFunc("hold_item", "Put one unit of a product aside for the caller.", inv.HoldItem)
	if err != nil {
		return nil, err
	}
	env := plugins.Default().Clone()
	for _, t := range []plugins.Tool{check, hold} {
		if err := env.RegisterTool(t); err != nil {
			return nil, err
		}
	}
	return env, nil
}
