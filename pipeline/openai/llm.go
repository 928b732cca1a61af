package openai

import (
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/parley-voice/parley/pipeline"
)

// emptyLinesLimit raises go-openai's limit on non-data SSE lines per event (default
// 300), which gateways sending keep-alive comments during a slow answer can reach.
const emptyLinesLimit = 1000

// LLM streams replies from an OpenAI-compatible chat completions API. It is safe for
// concurrent use; one value may serve many calls.
type LLM struct {
	cfg    Config
	client *goopenai.Client
	// noStreamOptions is set once the server has rejected stream_options, so later
	// requests go without it (and without usage).
	noStreamOptions atomic.Bool
}

// New checks cfg and returns an LLM. No request is made until Generate.
func New(cfg Config) (*LLM, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cc := goopenai.DefaultConfig(cfg.APIKey)
	cc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cc.OrgID = cfg.Organization
	cc.EmptyMessagesLimit = emptyLinesLimit
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	cc.HTTPClient = &spyDoer{client: hc}
	return &LLM{cfg: cfg, client: goopenai.NewClientWithConfig(cc)}, nil
}

// Generate streams a reply: text fragments go to sink as they arrive, tool calls once
// assembled (at finish_reason or the end of the stream), usage last. Failures are
// *pipeline.ProviderError values, except the caller's own cancellation (ctx.Err()).
// When no token arrives within Config.FirstTokenTimeout, the deadline set with
// pipeline.WithFirstTokenDeadline, or ctx's deadline, Generate fails with an error
// wrapping pipeline.ErrFirstByteTimeout. A chunk carrying only the role is not a token.
func (l *LLM) Generate(ctx context.Context, req *pipeline.LLMRequest, sink func(pipeline.LLMChunk)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if req == nil {
		req = &pipeline.LLMRequest{}
	}
	parent, start := ctx, time.Now()
	spy := &bodySpy{}
	ctx, cancel := context.WithCancel(context.WithValue(parent, spyKey{}, spy))
	defer cancel()
	ft, err := startFirstToken(parent, l.cfg.FirstTokenTimeout, cancel)
	if err != nil {
		return err
	}
	defer ft.stop()

	stream, err := l.open(ctx, l.request(req))
	if err != nil {
		return l.fail(parent, ft, start, err, false)
	}
	defer stream.Close()

	var (
		tools    toolAssembler
		usage    *goopenai.Usage
		finished bool
	)
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return l.fail(parent, ft, start, err, true)
		}
		if resp.Usage != nil {
			// Some servers repeat cumulative usage on every chunk; keep the last.
			usage = resp.Usage
		}
		if len(resp.Choices) == 0 {
			continue
		}
		ch := resp.Choices[0]
		token := ch.Delta.Content != "" || len(ch.Delta.ToolCalls) > 0 ||
			(ch.FinishReason != "" && ch.FinishReason != goopenai.FinishReasonNull)
		if token && !ft.got() {
			return l.fail(parent, ft, start, context.Canceled, true)
		}
		if ch.Delta.Content != "" {
			sink(pipeline.LLMChunk{Text: ch.Delta.Content})
		}
		if len(ch.Delta.ToolCalls) > 0 {
			tools.add(ch.Delta.ToolCalls)
		}
		if ch.FinishReason != "" && ch.FinishReason != goopenai.FinishReasonNull {
			finished = true
			if calls := tools.take(); len(calls) > 0 {
				sink(pipeline.LLMChunk{ToolCalls: calls})
			}
		}
	}
	if !spy.done && !finished {
		return l.cutError()
	}
	if calls := tools.take(); len(calls) > 0 {
		sink(pipeline.LLMChunk{ToolCalls: calls})
	}
	if usage != nil {
		sink(pipeline.LLMChunk{Usage: &pipeline.Usage{PromptTokens: usage.PromptTokens, CompletionTokens: usage.CompletionTokens}})
	}
	return nil
}

// open starts the stream, retrying once without stream_options when the server
// rejects them, and remembering that for later requests.
func (l *LLM) open(ctx context.Context, creq goopenai.ChatCompletionRequest) (*goopenai.ChatCompletionStream, error) {
	stream, err := l.client.CreateChatCompletionStream(ctx, creq)
	if err != nil && creq.StreamOptions != nil && rejectsStreamOptions(err) {
		l.noStreamOptions.Store(true)
		creq.StreamOptions = nil
		stream, err = l.client.CreateChatCompletionStream(ctx, creq)
	}
	if err != nil {
		return nil, err
	}
	return stream, nil
}

// request builds the chat completion request for req.
func (l *LLM) request(req *pipeline.LLMRequest) goopenai.ChatCompletionRequest {
	creq := goopenai.ChatCompletionRequest{
		Model:    l.cfg.Model,
		Messages: toMessages(req.Messages),
		Tools:    toTools(req.Tools),
		Stream:   true,
	}
	if !l.noStreamOptions.Load() {
		creq.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
	}
	if t := l.cfg.Temperature; t != nil {
		creq.Temperature = *t
		if *t == 0 {
			// go-openai omits a zero temperature; the smallest positive one is greedy too.
			creq.Temperature = math.SmallestNonzeroFloat32
		}
	}
	if n := l.cfg.MaxTokens; n > 0 {
		if reasoningModel(l.cfg.Model) {
			creq.MaxCompletionTokens = n
		} else {
			// max_tokens is what most OpenAI-compatible servers understand.
			creq.MaxTokens = n
		}
	}
	return creq
}

// reasoningModel reports OpenAI models that refuse max_tokens.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

// fail turns a request or stream error into what Generate returns.
func (l *LLM) fail(parent context.Context, ft *firstToken, start time.Time, err error, started bool) error {
	if ft.timedOut() {
		return firstTokenError(ft.after.String(), nil)
	}
	if perr := parent.Err(); perr != nil {
		if perr == context.DeadlineExceeded && !ft.seen() {
			return firstTokenError(time.Since(start).Round(time.Millisecond).String(), perr)
		}
		return perr
	}
	return l.classify(err, started)
}

var _ pipeline.LLM = (*LLM)(nil)
