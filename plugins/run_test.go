package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/pipeline"
)

// fakeTool is a hand-written Tool whose Call runs fn.
type fakeTool struct {
	name    string
	fn      func(ctx context.Context, args json.RawMessage) (Result, error)
	timeout time.Duration
}

func (f *fakeTool) Spec() pipeline.ToolSpec {
	return pipeline.ToolSpec{Name: f.name, Parameters: emptyObjectSchema}
}

func (f *fakeTool) Call(ctx context.Context, args json.RawMessage) (Result, error) {
	return f.fn(ctx, args)
}

func (f *fakeTool) Timeout() time.Duration { return f.timeout }

func TestRunResults(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		maxResult int
		want      string
	}{
		{"as is", `{"temp":21}`, 100, `{"temp":21}`},
		{"empty becomes placeholder", ``, 100, EmptyContent},
		{"blank becomes placeholder", " \n\t", 100, EmptyContent},
		{"exactly at the cap", "abcdef", 6, "abcdef"},
		{"truncated", "abcdefghij", 4, "abcd\n[truncated: result was 10 bytes]"},
		{"truncated at a rune boundary", "aé€x", 4, "aé\n[truncated: result was 7 bytes]"},
		{"default cap", strings.Repeat("x", DefaultMaxResultBytes+1), 0,
			strings.Repeat("x", DefaultMaxResultBytes) + "\n[truncated: result was 16385 bytes]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := &fakeTool{name: "t", fn: func(context.Context, json.RawMessage) (Result, error) {
				return Result{Content: tt.content}, nil
			}}
			res, err := Run(context.Background(), tool, nil, time.Second, tt.maxResult)
			if err != nil {
				t.Fatal(err)
			}
			if res.Content != tt.want {
				t.Errorf("content = %q, want %q", res.Content, tt.want)
			}
		})
	}
}

func TestRunPassesArgumentsAndAction(t *testing.T) {
	var got string
	tool := &fakeTool{name: "t", fn: func(_ context.Context, args json.RawMessage) (Result, error) {
		got = string(args)
		return Result{Action: ActionTransfer, TransferTo: "+15550100", Reason: "asked"}, nil
	}}
	res, err := Run(context.Background(), tool, json.RawMessage(` {"a":1} `), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got != `{"a":1}` {
		t.Errorf("args = %s", got)
	}
	if res.Action != ActionTransfer || res.TransferTo != "+15550100" || res.Content != EmptyContent {
		t.Errorf("result = %+v", res)
	}
	_, err = Run(context.Background(), tool, nil, 0, 0)
	if err != nil || got != `{}` {
		t.Errorf("empty args passed as %q (err %v)", got, err)
	}
}

func TestRunErrors(t *testing.T) {
	boom := errors.New("backend unavailable")
	tests := []struct {
		name    string
		args    string
		fn      func(ctx context.Context, args json.RawMessage) (Result, error)
		err     error
		message string
	}{
		{
			name: "tool error is named",
			fn:   func(context.Context, json.RawMessage) (Result, error) { return Result{}, boom },
			err:  boom, message: `tool "t": backend unavailable`,
		},
		{
			name: "invalid JSON is not passed on",
			args: `{"a":`,
			fn: func(context.Context, json.RawMessage) (Result, error) {
				panic("should not be called")
			},
			err: ErrBadArguments, message: `tool "t": arguments are not valid JSON`,
		},
		{
			name: "transfer without destination",
			fn: func(context.Context, json.RawMessage) (Result, error) {
				return Result{Action: ActionTransfer}, nil
			},
			err: ErrBadResult, message: `tool "t": bad tool result: transfer without a destination`,
		},
		{
			name: "tool returning ctx.Err at the deadline",
			fn: func(ctx context.Context, _ json.RawMessage) (Result, error) {
				<-ctx.Done()
				return Result{}, ctx.Err()
			},
			err: ErrToolTimeout, message: `tool "t": tool timed out after 20ms`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := &fakeTool{name: "t", fn: tt.fn}
			_, err := Run(context.Background(), tool, json.RawMessage(tt.args), 20*time.Millisecond, 0)
			if !errors.Is(err, tt.err) || !strings.HasPrefix(err.Error(), tt.message) {
				t.Fatalf("err = %v, want %v starting %q", err, tt.err, tt.message)
			}
			var te *ToolError
			if !errors.As(err, &te) || te.Tool != "t" {
				t.Errorf("err is not a *ToolError naming the tool: %#v", err)
			}
		})
	}
}

func TestRunTimeoutWhenToolIgnoresContext(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	tool := &fakeTool{name: "stuck", fn: func(context.Context, json.RawMessage) (Result, error) {
		defer close(finished)
		<-release // ignores ctx
		return Result{Content: "too late"}, nil
	}}
	start := time.Now()
	_, err := Run(context.Background(), tool, nil, 50*time.Millisecond, 0)
	elapsed := time.Since(start)
	if !errors.Is(err, ErrToolTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrToolTimeout", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Run returned after %v, want about 50ms", elapsed)
	}
	// The abandoned goroutine finishes when the tool does, without blocking.
	close(release)
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("tool goroutine did not finish")
	}
}

func TestRunUsesToolTimeout(t *testing.T) {
	tool := &fakeTool{name: "t", timeout: 30 * time.Millisecond, fn: func(ctx context.Context, _ json.RawMessage) (Result, error) {
		dl, ok := ctx.Deadline()
		if !ok || time.Until(dl) > 30*time.Millisecond {
			t.Errorf("deadline %v %v, want within 30ms", dl, ok)
		}
		return Result{}, nil
	}}
	if _, err := Run(context.Background(), tool, nil, 0, 0); err != nil {
		t.Fatal(err)
	}
}

func TestRunCallerCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	tool := &fakeTool{name: "t", fn: func(ctx context.Context, _ json.RawMessage) (Result, error) {
		close(started)
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // slow to notice
		return Result{}, ctx.Err()
	}}
	go func() {
		<-started
		cancel()
	}()
	_, err := Run(ctx, tool, nil, time.Minute, 0)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrToolTimeout) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRunRecoversPanic(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	defer slog.SetDefault(old)

	tool := &fakeTool{name: "crashy", fn: func(context.Context, json.RawMessage) (Result, error) {
		var m map[string]int
		m["boom"] = 1 // nil map write
		return Result{}, nil
	}}
	_, err := Run(context.Background(), tool, nil, time.Second, 0)
	if !errors.Is(err, ErrToolPanicked) {
		t.Fatalf("err = %v, want ErrToolPanicked", err)
	}
	if err.Error() != `tool "crashy": tool panicked` {
		t.Errorf("error %q should name the tool and hide the panic", err)
	}
	var entry map[string]any
	if err := json.Unmarshal(logs.Bytes(), &entry); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	stack, _ := entry["stack"].(string)
	if entry["tool"] != "crashy" || !strings.Contains(entry["panic"].(string), "nil map") || !strings.Contains(stack, "run_test.go") {
		t.Errorf("log entry = %v", entry)
	}
}

func TestRunNilTool(t *testing.T) {
	if _, err := Run(context.Background(), nil, nil, 0, 0); !errors.Is(err, ErrUnknownTool) {
		t.Errorf("err = %v", err)
	}
}
