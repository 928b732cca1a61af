package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// disabledState is the value of an endpoint's key in the state bucket: the
// endpoint is disabled on every node until the key is deleted.
type disabledState struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Node   string    `json:"node,omitempty"`
}

// watchState applies the state bucket to the gates: first what is stored
// (before any delivery starts), then every change from any node.
func (d *Dispatcher) watchState() error {
	w, err := d.state.WatchAll(context.Background())
	if err != nil {
		return fmt.Errorf("webhook queue: watching %s: %w", d.names.stateKV, err)
	}
	initial := make(chan struct{})
	go func() {
		defer w.Stop()
		seenInitial := false
		for {
			select {
			case <-d.ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					if !seenInitial {
						seenInitial = true
						close(initial)
					}
					continue
				}
				d.applyState(e)
			}
		}
	}()
	select {
	case <-initial:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("webhook queue: reading %s timed out", d.names.stateKV)
	}
}

func (d *Dispatcher) applyState(e jetstream.KeyValueEntry) {
	ep := d.byID[e.Key()]
	if ep == nil {
		return
	}
	switch e.Operation() {
	case jetstream.KeyValuePut:
		var s disabledState
		if err := json.Unmarshal(e.Value(), &s); err != nil {
			s.Reason = "disabled"
		}
		ep.gate.Disable(s.Reason)
		d.log.Warn("webhook endpoint disabled", "endpoint", ep.ep.ID, "reason", s.Reason)
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		if ep.ep.IsEnabled() {
			ep.gate.Enable()
			d.log.Info("webhook endpoint enabled", "endpoint", ep.ep.ID)
		}
	}
}

// setDisabled disables an endpoint on every node, and across restarts.
func (d *Dispatcher) setDisabled(id, reason string) {
	b, _ := json.Marshal(disabledState{Reason: reason, At: d.clock.Now().UTC(), Node: d.node()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := d.state.Put(ctx, id, b); err != nil {
		d.log.Error("webhook endpoint disabled on this node only: storing its state failed", "endpoint", id, "err", err)
	}
}

// ErrUnknownEndpoint: no endpoint has the id.
var ErrUnknownEndpoint = errors.New("no webhook endpoint with this id")

// ErrDisabledInConfig: the endpoint is disabled in the config (enabled:
// false); only a config change enables it.
var ErrDisabledInConfig = errors.New("webhook endpoint is disabled in the config")

// Disable stops deliveries to an endpoint on every node until Enable; events
// wait in the queue (for up to the event retention).
func (d *Dispatcher) Disable(ctx context.Context, id, reason string) error {
	ep := d.byID[id]
	if ep == nil {
		return fmt.Errorf("%w: %q", ErrUnknownEndpoint, id)
	}
	if reason == "" {
		reason = "disabled by an operator"
	}
	ep.gate.Disable(reason)
	b, _ := json.Marshal(disabledState{Reason: reason, At: d.clock.Now().UTC(), Node: d.node()})
	if _, err := d.state.Put(ctx, id, b); err != nil {
		return fmt.Errorf("disabling endpoint %q: %w", id, err)
	}
	return nil
}

// Enable lets deliveries to an endpoint resume on every node, with a closed
// circuit: after a 410 Gone or an operator's Disable. An endpoint disabled in
// its config stays disabled: change the config.
func (d *Dispatcher) Enable(ctx context.Context, id string) error {
	ep := d.byID[id]
	if ep == nil {
		return fmt.Errorf("%w: %q", ErrUnknownEndpoint, id)
	}
	if !ep.ep.IsEnabled() {
		return fmt.Errorf("endpoint %q: %w (enabled: false); change the config to enable it", id, ErrDisabledInConfig)
	}
	if err := d.state.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("enabling endpoint %q: %w", id, err)
	}
	ep.gate.Enable()
	return nil
}
