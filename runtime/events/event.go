// Package events defines Parley's normalized event envelope, the event type
// catalogue, sortable unique ids, and the in-process bus that fans events out to
// subscribers (the webhook dispatcher, printers, tests) without ever blocking a call.
package events

import (
	"encoding/json"
	"reflect"
	"time"
)

// APIVersion is the version of the event envelope and payload shapes.
const APIVersion = "2026-11-01"

// Event is one normalized event in the envelope of ARCHITECTURE.md. Payload is a
// value that marshals to a JSON object (usually a map or a payload struct).
type Event struct {
	Type       string    `json:"event_type"`
	ID         string    `json:"event_id"`
	APIVersion string    `json:"api_version"`
	CallID     string    `json:"call_id"`
	AgentID    string    `json:"agent_id"`
	Sequence   uint64    `json:"sequence"`
	Timestamp  time.Time `json:"timestamp"`
	Payload    any       `json:"payload"`
	// TraceParent is the W3C traceparent of the span the event was emitted
	// in, when the call is traced; empty otherwise. It is not part of the
	// envelope: the webhook queue carries it as a message header so that
	// delivery attempts link back to the call (docs/OPERATIONS.md, "Traces").
	TraceParent string `json:"-"`
}

// MarshalJSON writes the envelope with the timestamp in UTC at millisecond
// precision and the payload always an object. It has a value receiver so that an
// Event encodes the same way by value as by pointer.
func (e Event) MarshalJSON() ([]byte, error) {
	type envelope struct {
		Type       string `json:"event_type"`
		ID         string `json:"event_id"`
		APIVersion string `json:"api_version"`
		CallID     string `json:"call_id"`
		AgentID    string `json:"agent_id"`
		Sequence   uint64 `json:"sequence"`
		Timestamp  string `json:"timestamp"`
		Payload    any    `json:"payload"`
	}
	p := e.Payload
	if isNil(p) {
		p = struct{}{}
	}
	return json.Marshal(envelope{
		Type: e.Type, ID: e.ID, APIVersion: e.APIVersion, CallID: e.CallID,
		AgentID: e.AgentID, Sequence: e.Sequence,
		Timestamp: e.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z"),
		Payload:   p,
	})
}

// isNil reports whether p would encode as JSON null: nil, or a nil map, pointer,
// slice or interface held in p.
func isNil(p any) bool {
	if p == nil {
		return true
	}
	switch v := reflect.ValueOf(p); v.Kind() {
	case reflect.Map, reflect.Pointer, reflect.Slice, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// Event types of the catalogue. docs/EVENTS.md describes each payload.
const (
	CallStarted          = "call.started"
	CallEnded            = "call.ended"
	CallStateChanged     = "call.state_changed"
	CallInterrupted      = "call.interrupted"
	CallTransferred      = "call.transferred"
	CallWatchdog         = "call.watchdog"
	MediaStreamConnected = "media.stream.connected"
	SpeechStarted        = "speech.started"
	SpeechStopped        = "speech.stopped"
	SpeechPartial        = "speech.partial"
	SpeechTranscribed    = "speech.transcribed"
	IntentMatched        = "intent.matched"
	AgentResponse        = "agent.response"
	AgentSpeechStarted   = "agent.speech.started"
	AgentSpeechEnded     = "agent.speech.ended"
	AgentResumed         = "agent.resumed"
	AgentReplyAbandoned  = "agent.reply_abandoned"
	ToolCalled           = "tool.called"
	ToolCompleted        = "tool.completed"
	ToolProgress         = "tool.progress"
	DTMFReceived         = "dtmf.received"
	TurnCompleted        = "turn.completed"
	TurnBudgetExceeded   = "turn.budget_exceeded"
	ProviderError        = "provider.error"
	ProviderFallback     = "provider.fallback"
	SilenceTimeout       = "call.silence_timeout"
	// WebhookPayloadRejected: an event was too large for a webhook
	// endpoint's max_payload_bytes and is not delivered there.
	WebhookPayloadRejected = "webhook.payload_rejected"
)

// Types lists every event type of the catalogue, for docs, filters and tests.
var Types = []string{
	CallStarted, MediaStreamConnected, CallStateChanged, SpeechStarted, SpeechStopped,
	SpeechPartial, SpeechTranscribed, IntentMatched, AgentResponse, AgentSpeechStarted,
	AgentSpeechEnded, CallInterrupted, AgentResumed, AgentReplyAbandoned, ToolCalled, ToolCompleted,
	ToolProgress, DTMFReceived, TurnCompleted, TurnBudgetExceeded, ProviderError, ProviderFallback, SilenceTimeout,
	CallWatchdog, CallTransferred, CallEnded, WebhookPayloadRejected,
}
