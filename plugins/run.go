package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EmptyContent replaces an empty tool result: LLM APIs reject empty tool
// messages.
const EmptyContent = `{"ok":true}`

// DefaultMaxResultBytes caps Result.Content when Run is given no cap.
const DefaultMaxResultBytes = 16 << 10

// truncatedMarker follows content cut by Run; %d is the original size.
const truncatedMarker = "\n[truncated: result was %d bytes]"

// Run calls t with args under a deadline and turns every way a tool can fail
// into an error wrapped in a *ToolError that names the tool:
//
//   - timeout (zero or negative: the tool's own Timeouter, else DefaultTimeout)
//     bounds the call. When it passes, Run returns an error wrapping
//     ErrToolTimeout (and context.DeadlineExceeded) at once, even if the tool
//     ignores ctx; such a tool's goroutine is then left to finish on its own
//     and its result is discarded. If ctx is cancelled instead (barge-in,
//     hang-up), Run returns ctx's error the same way.
//   - a panic in the tool becomes ErrToolPanicked; the panic value and stack go
//     to slog at error level, never into the error.
//   - args that are not valid JSON are ErrBadArguments without calling the
//     tool; empty args ("" or null) are passed as {}.
//   - a transfer without a destination is ErrBadResult.
//
// On success, Content longer than maxResult bytes (zero or negative:
// DefaultMaxResultBytes) is cut at a UTF-8 boundary and followed by a
// "[truncated: ...]" marker, and empty Content becomes EmptyContent.
func Run(ctx context.Context, t Tool, args json.RawMessage, timeout time.Duration, maxResult int) (Result, error) {
	if t == nil {
		return Result{}, &ToolError{Tool: "", Err: ErrUnknownTool}
	}
	name := t.Spec().Name
	if timeout <= 0 {
		if to, ok := t.(Timeouter); ok {
			timeout = to.Timeout()
		}
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
	}
	if maxResult <= 0 {
		maxResult = DefaultMaxResultBytes
	}
	args = normalizeArgs(args)
	if !json.Valid(args) {
		return Result{}, &ToolError{Tool: name, Err: badArgs{errors.New("arguments are not valid JSON")}}
	}

	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type outcome struct {
		res Result
		err error
	}
	// Buffered so that a tool finishing after Run gave up does not block forever.
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				slog.ErrorContext(ctx, "tool panicked", "tool", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- outcome{err: ErrToolPanicked}
			}
		}()
		res, err := t.Call(runCtx, args)
		done <- outcome{res, err}
	}()

	var out outcome
	select {
	case out = <-done:
	case <-runCtx.Done():
		// Prefer a result that raced with the deadline.
		select {
		case out = <-done:
		default:
			return Result{}, &ToolError{Tool: name, Err: deadlineError(ctx, runCtx, timeout)}
		}
	}
	if out.err != nil {
		err := out.err
		if runCtx.Err() != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrToolTimeout) {
			// The tool noticed our deadline and returned ctx.Err().
			err = fmt.Errorf("%w after %s (%w)", ErrToolTimeout, timeout, err)
		}
		return Result{}, toolError(name, err)
	}
	res := out.res
	if res.Action == ActionTransfer && strings.TrimSpace(res.TransferTo) == "" {
		return Result{}, &ToolError{Tool: name, Err: fmt.Errorf("%w: transfer without a destination", ErrBadResult)}
	}
	res.Content = limitContent(res.Content, maxResult)
	return res, nil
}

// deadlineError explains why runCtx ended: our timeout, or the caller's ctx.
func deadlineError(ctx, runCtx context.Context, timeout time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%w after %s (%w)", ErrToolTimeout, timeout, runCtx.Err())
}

// limitContent applies the empty placeholder and the size cap.
func limitContent(s string, max int) string {
	if strings.TrimSpace(s) == "" {
		return EmptyContent
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + strings.Replace(truncatedMarker, "%d", strconv.Itoa(len(s)), 1)
}
