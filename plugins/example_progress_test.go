package plugins_test

import (
	"context"
	"fmt"
	"time"

	"github.com/parley-voice/parley/plugins"
)

type bookingArgs struct {
	Slot string `json:"slot" jsonschema_description:"The slot to book, e.g. monday 9am"`
}

// A slow tool reports progress, which the call may speak, and tags its write
// with the tool call's idempotency key, so that a retried request does not book
// twice. Here the runtime's side is played by WithProgress and WithCallInfo.
func ExampleReportProgress() {
	book := plugins.MustFunc("book_slot", "Books an appointment slot.",
		func(ctx context.Context, a bookingArgs) (any, error) {
			plugins.ReportProgress(ctx, plugins.Progress{Message: "contacting the calendar", Say: "Still booking that for you…"})
			key := plugins.IdempotencyKey(ctx) // e.g. sent as an Idempotency-Key header
			info, _ := plugins.CallInfo(ctx)
			return map[string]any{"booked": a.Slot, "call": info.CallID, "key_length": len(key)}, nil
		})

	ctx := plugins.WithProgress(context.Background(), func(p plugins.Progress) {
		fmt.Printf("progress: %s (say %q)\n", p.Message, p.Say)
	})
	ctx = plugins.WithCallInfo(ctx, plugins.ToolCallInfo{CallID: "call_1", AgentID: "clinic", Turn: 2, Round: 1, ToolCallID: "tc_7", Tool: "book_slot"})
	res, err := plugins.Run(ctx, book, []byte(`{"slot":"monday 9am"}`), 5*time.Second, 0)
	fmt.Println(res.Content, err)
	// Output:
	// progress: contacting the calendar (say "Still booking that for you…")
	// {"booked":"monday 9am","call":"call_1","key_length":32} <nil>
}
