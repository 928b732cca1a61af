// Package pipeline defines the streaming stage contracts of a turn (speech-to-text,
// the reply generator, text-to-speech), sentence chunking, and the per-turn latency
// timeline with its budgets. Provider implementations live in sub-packages.
//
// The contracts are small on purpose: a provider is a factory for per-call streams,
// results are delivered through callbacks that must not block, and every blocking
// call takes a context that the call actor cancels on barge-in or hang-up.
package pipeline
