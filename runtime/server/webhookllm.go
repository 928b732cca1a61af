package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/pipeline/webhookllm"
	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/events"
)

// webhookLLM builds the server-driven LLM (llm.provider: webhook) from an
// agent's llm section. Options: url and secret (required; use ${ENV} for the
// secret), timeout (a duration such as "2s", default 2s) and
// allow_insecure_loopback (a boolean); anything else is an error. Model
// settings (model, base_url, api_key) are ignored, as for the flow engine.
func webhookLLM(c agents.LLMConfig) (*webhookllm.LLM, error) {
	var wc webhookllm.Config
	for _, k := range slices.Sorted(maps.Keys(c.Options)) {
		v := c.Options[k]
		switch k {
		case "url", "secret":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("options.%s: want a string", k)
			}
			if k == "url" {
				wc.URL = s
			} else {
				wc.Secret = s
			}
		case "timeout":
			s, _ := v.(string)
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 || d > webhookllm.MaxTimeout {
				return nil, fmt.Errorf("options.timeout: want a duration up to %s such as \"2s\", got %v", webhookllm.MaxTimeout, v)
			}
			wc.Timeout = d
		case "allow_insecure_loopback":
			b, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("options.allow_insecure_loopback: want true or false, got %v", v)
			}
			wc.AllowInsecureLoopback = b
		default:
			return nil, fmt.Errorf("options.%s: unknown option of the webhook provider (known: url, secret, timeout, allow_insecure_loopback)", k)
		}
	}
	if wc.URL == "" {
		return nil, errors.New("options.url: is required for the webhook provider (the backend's https URL)")
	}
	if wc.Secret == "" {
		return nil, errors.New("options.secret: is required for the webhook provider (a whsec_… secret; use ${ENV_VAR})")
	}
	return webhookllm.New(wc)
}

// callStartHook builds the agent's call-start webhook, or returns nil when it
// has none.
func callStartHook(cfg *agents.Config) (func(context.Context, call.Params) (map[string]string, error), error) {
	cs := cfg.CallStart
	if cs == nil {
		return nil, nil
	}
	h, err := webhookllm.NewCallStart(webhookllm.Config{
		URL: cs.URL, Secret: cs.Secret, Timeout: cs.Timeout.Std(), AllowInsecureLoopback: cs.AllowInsecureLoopback,
	})
	if err != nil {
		return nil, err
	}
	agentID := cfg.ID
	return func(ctx context.Context, p call.Params) (map[string]string, error) {
		return h.Vars(ctx, webhookllm.CallInfo{
			ID: p.CallID, AgentID: agentID, Transport: p.Transport, From: p.From, To: p.To, Metadata: p.Metadata,
		})
	}, nil
}

// withCallStartVars asks the agent's call-start webhook for the call's
// variables and returns p with them over its own. It runs before StartCall
// takes s.mu, so a slow backend never holds up other calls; the hook's own
// timeout bounds it. The call id is chosen here, so that the request and the
// call's events name the same call. A failure is logged and handed to the call
// (Params.CallStartErr), which reports it as provider.error and goes on with
// the default variables.
func (s *Server) withCallStartVars(a *call.Agent, p call.Params) call.Params {
	if a.CallStart == nil {
		return p
	}
	s.mu.Lock()
	refused := s.draining || len(s.calls) >= s.cfg.MaxCalls
	s.mu.Unlock()
	if refused {
		return p // StartCall refuses the call; do not bother the backend
	}
	if p.CallID == "" {
		now := time.Now
		if s.cfg.CallOptions.Now != nil {
			now = s.cfg.CallOptions.Now
		}
		p.CallID = events.NewCallID(now())
	}
	vars, err := a.CallStart(s.ctx, p)
	if err != nil {
		s.log.Warn("call-start webhook failed; the call goes on with the default variables",
			"call_id", p.CallID, "agent_id", a.Config.ID, "err", err)
		p.CallStartErr = err
		return p
	}
	merged := make(map[string]string, len(p.Vars)+len(vars))
	maps.Copy(merged, p.Vars)
	maps.Copy(merged, vars)
	p.Vars = merged
	return p
}
