// Package telemetry builds what a Parley node reports about itself besides
// metrics: the OpenTelemetry tracer (off unless an OTLP endpoint is
// configured) and the log handler that keeps secrets out of every log line.
// docs/OPERATIONS.md ("Traces", "Logs") describes both for operators.
package telemetry
