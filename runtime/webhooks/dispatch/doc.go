// Package dispatch is Parley's durable webhook dispatcher: it takes every event
// from the bus (as an events.Sink, never blocking the publisher), stores it in
// NATS JetStream, and delivers it to every endpoint whose filters match, signed,
// with retries, a dead-letter queue and replay.
//
// Layout in JetStream (all names start with the configured prefix, "PARLEY"):
//
//	stream PARLEY_EVENTS     parley.ev.<partition>.<agent>.<type>  every accepted event, once (limits retention)
//	stream PARLEY_WH_RETRY   parley.wh.retry.<endpoint>     scheduled retries (work queue)
//	stream PARLEY_WH_DLQ     parley.wh.dlq.<endpoint>       dead-lettered events (limits retention)
//	stream PARLEY_WH_ATTEMPTS parley.wh.att.<endpoint>.<id> the attempt log (limits retention)
//	kv     PARLEY_WH_STATE   <endpoint>                     endpoints disabled at run time (410, admin)
//
// Each endpoint has two durable pull consumers, on its own NATS connection:
// wh_<endpoint> reads the events stream through subject filters built from
// its agents and event globs (fan-out: every endpoint has its own cursor, so a
// slow or dead endpoint never holds another back) and whr_<endpoint> reads
// its retries. A
// failed attempt is acknowledged and re-published to the retry stream with its
// due time, so nothing waits in the delivery consumer (a message NAK'd with a
// delay still counts against MaxAckPending; see ARCHITECTURE.md). Retries wait
// in their own consumer, NAK'd with a delay of at most Config.RetryPoll and
// re-checked against the dispatcher's clock, which tests control.
//
// xxh3(call_id) picks the partition of the events subject and the delivery
// lane within a node: with ordering per-call a lane delivers one at a time, so
// one call's events are first attempted in sequence order while other calls'
// events go in parallel on the other lanes.
package dispatch
