package dispatch

import "github.com/parley-voice/parley/runtime/webhooks"

// AttemptObserver is told of every delivery attempt that was made (attempts
// cancelled by a shutdown are not), after its outcome is settled: delivered,
// scheduled for a retry or dead-lettered. It runs on the endpoint's delivery
// goroutine, so it must not block; runtime/metrics counts attempts with it.
type AttemptObserver interface {
	ObserveAttempt(rec *AttemptRecord)
}

// AttemptObserverFunc adapts a function to AttemptObserver.
type AttemptObserverFunc func(rec *AttemptRecord)

// ObserveAttempt calls f(rec).
func (f AttemptObserverFunc) ObserveAttempt(rec *AttemptRecord) { f(rec) }

// observe hands an attempt's record to the configured observer, if any.
func (d *Dispatcher) observe(rec *AttemptRecord) {
	if d.cfg.Observer != nil {
		d.cfg.Observer.ObserveAttempt(rec)
	}
}

// Health returns every endpoint's health on this node (circuit state, in
// flight, last result) without asking the queue, so it is cheap enough for
// every metrics scrape and still answers when the queue is unreachable.
// Endpoints gives the queue depths as well.
func (d *Dispatcher) Health() []webhooks.EndpointHealth {
	out := make([]webhooks.EndpointHealth, 0, len(d.endpoints))
	for _, e := range d.endpoints {
		out = append(out, e.gate.Health())
	}
	return out
}
