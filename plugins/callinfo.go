package plugins

import (
	"context"
	"encoding/hex"
	"strconv"

	"github.com/zeebo/xxh3"
)

// ToolCallInfo describes one tool call of a live call: which call, agent and
// turn it belongs to, and the model's id for it. Tools use it to tag records
// they write elsewhere (a CRM note, a ticket) with the call they came from.
type ToolCallInfo struct {
	// CallID is the call's id, as in its events ("call_…").
	CallID string
	// AgentID is the id of the agent serving the call.
	AgentID string
	// Turn is the caller turn being answered (0 for the greeting), as in events.
	Turn int
	// Round counts the tool rounds of the reply, from 1: a model may call
	// tools, read their results, and call tools again.
	Round int
	// ToolCallID is the id the model gave this tool call (tool.called's
	// tool_call_id).
	ToolCallID string
	// Tool is the name the model called the tool by.
	Tool string
}

type callInfoKey struct{}

// WithCallInfo returns a copy of ctx that carries info for CallInfo and
// IdempotencyKey. The call runtime sets it on every tool run.
func WithCallInfo(ctx context.Context, info ToolCallInfo) context.Context {
	return context.WithValue(ctx, callInfoKey{}, info)
}

// CallInfo returns the tool call that ctx runs, and false when the tool runs
// outside a call (a test, a script).
func CallInfo(ctx context.Context) (ToolCallInfo, bool) {
	info, ok := ctx.Value(callInfoKey{}).(ToolCallInfo)
	return info, ok
}

// IdempotencyKey returns a key that identifies the tool call ctx runs: the
// same every time that tool call is run (a tool that retries a request sends
// the same key), different for every other tool call, in this call or any
// other. Send it to APIs that deduplicate writes (an Idempotency-Key header),
// so that a retried booking or payment is not made twice. It is "" outside a
// call. See ToolCallInfo.IdempotencyKey.
func IdempotencyKey(ctx context.Context) string {
	info, ok := CallInfo(ctx)
	if !ok {
		return ""
	}
	return info.IdempotencyKey()
}

// IdempotencyKey derives the key of a tool call: 32 hex digits of the XXH3
// 128-bit hash of the call id, turn, round and tool call id (the call id
// prefixed with its length). The turn and
// round are part of it because some models number their tool calls afresh in
// every response ("call_0"), so the id alone may repeat within a call. The
// hash keeps the key short and fixed in length, whatever ids the model uses.
func (i ToolCallInfo) IdempotencyKey() string {
	// The call id goes after its length, so no choice of ids can make two
	// different tool calls spell the same input.
	b := make([]byte, 0, len(i.CallID)+len(i.ToolCallID)+32)
	b = strconv.AppendInt(b, int64(len(i.CallID)), 10)
	b = append(b, ':')
	b = append(b, i.CallID...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(i.Turn), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(i.Round), 10)
	b = append(b, '/')
	b = append(b, i.ToolCallID...)
	sum := xxh3.Hash128(b).Bytes()
	return hex.EncodeToString(sum[:])
}
