// Package webhooks delivers Parley's call events to the HTTP endpoints that
// subscribe to them, signed per the Standard Webhooks spec.
//
// This package is the delivery layer: the subscription config ([Endpoint],
// [RetryPolicy]), one HTTP attempt ([Deliverer.Deliver] returning an
// [Attempt]), the retry schedule ([NextAttempt]), the payload limit
// ([CheckPayload]) and each endpoint's isolation ([Gate]: rate limit,
// concurrency limit, circuit breaker, health). The durable queue that fans
// events out, partitions them by call and keeps them across restarts calls into
// it; it decides nothing about HTTP.
//
// A dispatcher worker uses the pieces in this order:
//
//	permit, err := gate.Acquire(ctx)      // disabled, circuit open, or wait for a slot and a token
//	a := deliverer.Deliver(ctx, msg)      // one signed POST
//	permit.Done(a)                        // feeds the breaker and the endpoint's health
//	at, ok := NextAttempt(policy, n, a, now, rand.Float64) // when to retry, or dead-letter
//
// docs/WEBHOOKS.md is the operator's reference for the config, the retry
// schedule and the security rules.
package webhooks
