// Package plugins is the public Go API for extending Parley: custom tools (typed Go
// functions the agent can call) and the registry that agents look tools up in.
//
// During a call, the tool calls of one round run in parallel, each under its own
// deadline (see Run), and the ctx a tool gets carries the call it runs for:
//
//   - ReportProgress tells the caller how a slow tool is getting on: each report
//     is a tool.progress event, and its Say phrase ("Still checking the
//     calendar…") may be spoken while the tool keeps running.
//   - IdempotencyKey is a key stable for one tool call and unique to it, for APIs
//     that deduplicate writes (the http_request tool sends it as an
//     Idempotency-Key header); CallInfo gives the call id, agent id and turn, to
//     tag what the tool writes elsewhere.
//
// Outside a call ReportProgress does nothing and IdempotencyKey is empty, so
// tools stay easy to test on their own.
package plugins

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// Tool is something the agent can call during a turn. Call runs off the call
// actor's goroutine with a deadline in ctx; it must return when ctx is done. ctx
// also carries the tool call's identity (CallInfo, IdempotencyKey) and a
// progress reporter (ReportProgress).
type Tool interface {
	// Spec names and describes the tool and the JSON Schema of its arguments.
	Spec() pipeline.ToolSpec
	// Call runs the tool with JSON arguments.
	Call(ctx context.Context, args json.RawMessage) (Result, error)
}

// Timeouter is implemented by tools that want a deadline other than the default.
// A Ref's Timeout overrides it; zero or negative means DefaultTimeout.
type Timeouter interface {
	Timeout() time.Duration
}

// Action is what a tool asks the call to do besides returning a result.
type Action int

const (
	// ActionNone is the zero value: just feed the result back.
	ActionNone Action = iota
	// ActionEndCall hangs up after the agent finishes speaking.
	ActionEndCall
	// ActionTransfer transfers the call to Result.TransferTo.
	ActionTransfer
)

func (a Action) String() string {
	switch a {
	case ActionEndCall:
		return "end_call"
	case ActionTransfer:
		return "transfer"
	}
	return "none"
}

// Result is a tool's answer.
type Result struct {
	// Content is fed back to the reply generator (JSON or plain text, never empty).
	Content string
	// Action asks the call to hang up or transfer.
	Action Action
	// TransferTo is the destination for ActionTransfer (a phone number or SIP URI).
	TransferTo string
	// Reason explains Action, e.g. "caller said goodbye".
	Reason string
}
