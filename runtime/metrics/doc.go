// Package metrics exposes Parley's Prometheus metrics: calls, turn stage
// latencies, budget misses, barge-ins, provider errors and fallbacks, tools,
// dropped frames and frame pacing, derived from the event stream by a
// synchronous bus sink; and webhook delivery (attempts, latency, queue depth,
// DLQ size, circuit state) from the dispatcher. Metrics live on their own
// registry, with the Go and process collectors, and are served by Handler.
//
// Labels are bounded: agent, transport, reason, stage, provider, tool, status
// class and endpoint id, each capped at a fixed number of distinct values
// (the rest are reported as "other"); call ids are never labels.
// docs/OPERATIONS.md, "Metrics", lists every metric.
package metrics
