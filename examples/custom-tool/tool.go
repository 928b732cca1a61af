package main

import (
	"context"
	"sync"

	"github.com/parley-voice/parley/plugins"
)

// StockArgs are check_stock's arguments. The struct becomes the JSON Schema the
// agent (a flow here, or a language model) sees: product is required and must
// be one of the enum values, so the function never sees anything else.
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

// Inventory stands in for a shop's stock system. Tools serve concurrent calls,
// so it guards its counts with a mutex.
type Inventory struct {
	mu     sync.Mutex
	counts map[string]int
}

// NewInventory returns the example shop's stock.
func NewInventory() *Inventory {
	return &Inventory{counts: map[string]int{"mugs": 42, "kettles": 7, "glasses": 0}}
}

// Check answers how many of a product are in stock.
func (inv *Inventory) Check(ctx context.Context, a StockArgs) (any, error) {
	inv.mu.Lock()
	n := inv.counts[a.Product]
	inv.mu.Unlock()
	restock := "no restock needed"
	if n < 10 {
		restock = "more arrive on monday"
	}
	return Stock{Product: a.Product, InStock: n, Restock: restock}, nil
}

// newTools returns the tool environment the agent draws from: the built-ins
// (end_call, transfer_call, …) plus check_stock. Registering into a clone keeps
// the process-wide plugins.Default() untouched; a program that prefers the
// global registry calls plugins.RegisterTool from an init function instead.
func newTools(inv *Inventory) (*plugins.Environment, error) {
	t, err := plugins.NewFunc("check_stock", "Check how many of a product are in stock.", inv.Check)
	if err != nil {
		return nil, err
	}
	env := plugins.Default().Clone()
	if err := env.RegisterTool(t); err != nil {
		return nil, err
	}
	return env, nil
}
