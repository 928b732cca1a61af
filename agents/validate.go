package agents

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/parley-voice/parley/agents/internal/phrase"
	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/pipeline/webhookllm"
)

var (
	idRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	languageRE = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	// toolNameRE is what a model accepts as a function name (see plugins.ValidateName).
	toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
)

// Validate checks the whole config and returns every problem it finds, joined
// with errors.Join. Each is a *FieldError whose Path is the YAML path of the
// field ("turn.endpointing: must be between 100ms and 5s"); configs returned by
// Parse also carry file positions.
func (c *Config) Validate() error {
	p := &problems{src: c.src}
	c.validate(p)
	return p.err()
}

func (c *Config) validate(p *problems) {
	show := c.src.show
	switch {
	case c.ID == "":
		p.addf("id", "is required")
	case len(c.ID) > 64 || !idRE.MatchString(c.ID):
		p.addf("id", "%s is not a valid id: use lowercase letters, digits, _ and -, starting with a letter or digit, at most 64 characters", show(c.ID))
	}
	if !languageRE.MatchString(c.Language) {
		p.addf("language", "%s is not a language tag such as en-US", show(c.Language))
	}
	checkProvider(p, "stt.provider", c.STT.Provider, sttProviders, show)
	checkProvider(p, "tts.provider", c.TTS.Provider, ttsProviders, show)
	if strings.TrimSpace(c.TTS.Voice) == "" {
		p.addf("tts.voice", "is required")
	}
	checkIntRange(p, "tts.rate", c.TTS.Rate, 80, 450)
	c.validateLanguages(p)
	c.validateLLM(p)
	c.validateFallbacks(p)
	c.validateVars(p)
	c.validateCallStart(p)
	c.Turn.validate(p)
	c.VAD.validate(p)
	c.Budgets.validate(p)
	c.Timeouts.validate(p)
	tools := c.validateTools(p)
	if c.Flow != nil {
		c.Flow.agentVars = sortedKeys(c.Vars)
		c.Flow.validate(p, "flow", tools)
	}
}

func (c *Config) validateLLM(p *problems) {
	show := c.src.show
	l := c.LLM
	checkProvider(p, "llm.provider", l.Provider, llmProviders, show)
	// A flow next to another provider, or model settings next to the flow, are
	// ignored rather than rejected, so that one file can switch between the flow
	// engine and a model with llm.provider: ${LLM_PROVIDER:-flow}.
	if l.Provider == ProviderFlow && c.Flow == nil {
		p.addf("flow", "is required when llm.provider is %q", ProviderFlow)
	}
	if l.Provider == "openai" && strings.TrimSpace(l.Model) == "" {
		p.addf("llm.model", "is required for provider \"openai\"")
	}
	if l.BaseURL != "" {
		u, err := url.Parse(l.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf("llm.base_url", "must be an http:// or https:// URL")
		}
	}
	if t := l.Temperature; t != nil && (math.IsNaN(*t) || *t < 0 || *t > 2) {
		p.addf("llm.temperature", "must be between 0 and 2")
	}
	if h := l.HistoryTokens; h != 0 && (h < 500 || h > 2_000_000) {
		p.addf("llm.history_tokens", "must be 0 (no limit) or between 500 and 2000000")
	}
}

func (t TurnConfig) validate(p *problems) {
	checkDuration(p, "turn.endpointing", t.Endpointing, 100*time.Millisecond, 5*time.Second)
	checkDuration(p, "turn.min_interrupt_duration", t.MinInterruptDuration, 0, 5*time.Second)
	checkIntRange(p, "turn.min_interrupt_words", t.MinInterruptWords, 0, 10)
	checkIntRange(p, "turn.backchannel_max_words", t.BackchannelMaxWords, 0, 10)
	for i, b := range t.Backchannels {
		path := indexPath("turn.backchannels", i)
		n := len(phrase.Words(b))
		switch {
		case n == 0:
			p.addf(path, "must hold at least one word")
		case n > t.BackchannelMaxWords:
			p.addf(path, "has %d words but turn.backchannel_max_words is %d, so it could never count as a backchannel", n, t.BackchannelMaxWords)
		}
	}
	checkDuration(p, "turn.false_interruption_timeout", t.FalseInterruptionTimeout, 100*time.Millisecond, 10*time.Second)
	checkDuration(p, "turn.interruption_backoff", t.InterruptionBackoff, 0, 10*time.Second)
}

func (v VADConfig) validate(p *problems) {
	checkFloatRange(p, "vad.start_margin", v.StartMargin, 1, 60)
	checkFloatRange(p, "vad.stop_margin", v.StopMargin, 0, 60)
	if v.StopMargin > v.StartMargin {
		p.addf("vad.stop_margin", "must not be above vad.start_margin (%g dB), or speech could never stop", v.StartMargin)
	}
	checkFloatRange(p, "vad.min_level", v.MinLevel, -100, 0)
	checkDuration(p, "vad.start_duration", v.StartDuration, 20*time.Millisecond, time.Second)
	checkDuration(p, "vad.stop_duration", v.StopDuration, 20*time.Millisecond, 5*time.Second)
}

func (b BudgetConfig) validate(p *problems) {
	checkDuration(p, "budgets.default", b.Default, time.Millisecond, 30*time.Second)
	for _, stage := range sortedKeys(b.Stages) {
		path := joinPath("budgets.stages", stage)
		if !isStage(stage) {
			msg := fmt.Sprintf("unknown stage %q (stages: %s)", stage, strings.Join(pipeline.Stages, ", "))
			if s := suggest(stage, pipeline.Stages); s != "" {
				msg = fmt.Sprintf("unknown stage %q (did you mean %q?)", stage, s)
			}
			p.addf(path, "%s", msg)
			continue
		}
		checkDuration(p, path, b.Stages[stage], time.Millisecond, 30*time.Second)
	}
	a := b.OnExceeded
	if !slices.Contains(budgetActions, a.Action) {
		p.addf("budgets.on_exceeded.action", "must be one of %s", strings.Join(budgetActions, ", "))
	}
	if !isStage(a.Stage) {
		p.addf("budgets.on_exceeded.stage", "must be one of %s", strings.Join(pipeline.Stages, ", "))
	}
	if a.Action == BudgetFiller && len(a.FillerPhrases) == 0 {
		p.addf("budgets.on_exceeded.filler_phrases", "are required when the action is %q", BudgetFiller)
	}
	for i, f := range a.FillerPhrases {
		if strings.TrimSpace(f) == "" {
			p.addf(indexPath("budgets.on_exceeded.filler_phrases", i), "must not be empty")
		}
	}
}

func (t TimeoutConfig) validate(p *problems) {
	checkDuration(p, "timeouts.silence", t.Silence, time.Second, 10*time.Minute)
	checkIntRange(p, "timeouts.max_reprompts", t.MaxReprompts, 0, 10)
	if t.MaxReprompts > 0 && strings.TrimSpace(t.SilencePrompt) == "" {
		p.addf("timeouts.silence_prompt", "is required when timeouts.max_reprompts is above 0")
	}
	checkDuration(p, "timeouts.max_call_duration", t.MaxCallDuration, 10*time.Second, 24*time.Hour)
	checkDuration(p, "timeouts.watchdog", t.Watchdog, time.Second, 10*time.Minute)
	checkDuration(p, "timeouts.tool_timeout", t.ToolTimeout, 100*time.Millisecond, 5*time.Minute)
}

// validateTools checks the tool refs and returns the names the agent can call.
func (c *Config) validateTools(p *problems) map[string]bool {
	show := c.src.show
	names := map[string]bool{}
	for i, t := range c.Tools {
		path := indexPath("tools", i)
		if !toolNameRE.MatchString(t.Name) {
			if t.Name == "" {
				p.addf(path+".name", "is required")
			} else {
				p.addf(path+".name", "%s is not a valid tool name: 1 to 64 letters, digits, _ or -", show(t.Name))
			}
		}
		as := t.exposedName()
		if t.As != "" && !toolNameRE.MatchString(t.As) {
			p.addf(path+".as", "%s is not a valid tool name: 1 to 64 letters, digits, _ or -", show(t.As))
		}
		if as != "" && names[as] {
			p.addf(path, "the agent already has a tool called %s; give this one another name with as:", show(as))
		}
		names[as] = true
		if t.Timeout != 0 {
			checkDuration(p, path+".timeout", t.Timeout, 100*time.Millisecond, 5*time.Minute)
		}
	}
	return names
}

// exposedName is the name the agent calls the tool by.
func (t ToolRef) exposedName() string {
	if t.As != "" {
		return t.As
	}
	return t.Name
}

func checkProvider(p *problems, path, v string, allowed []string, show func(string) string) {
	if slices.Contains(allowed, v) {
		return
	}
	if v == "" {
		p.addf(path, "is required (one of %s)", strings.Join(allowed, ", "))
		return
	}
	msg := fmt.Sprintf("unknown provider %s (one of %s)", show(v), strings.Join(allowed, ", "))
	if s := suggest(v, allowed); s != "" {
		msg = fmt.Sprintf("unknown provider %s (did you mean %q?)", show(v), s)
	}
	p.addf(path, "%s", msg)
}

func checkDuration(p *problems, path string, d Duration, lo, hi time.Duration) {
	if d.Std() < lo || d.Std() > hi {
		p.addf(path, "must be between %s and %s", Duration(lo), Duration(hi))
	}
}

func checkIntRange(p *problems, path string, v, lo, hi int) {
	if v < lo || v > hi {
		p.addf(path, "must be between %d and %d", lo, hi)
	}
}

func checkFloatRange(p *problems, path string, v, lo, hi float64) {
	if math.IsNaN(v) || v < lo || v > hi {
		p.addf(path, "must be between %g and %g", lo, hi)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validateCallStart checks the call-start webhook, and the url and secret of
// the webhook llm provider (the server checks its other options when it
// provisions the agent). Messages never show the secret or the URL's path and
// query.
func (c *Config) validateCallStart(p *problems) {
	if o := c.LLM.Options; c.LLM.Provider == ProviderWebhook {
		loopback, _ := o["allow_insecure_loopback"].(bool)
		if u, ok := o["url"].(string); !ok {
			p.addf("llm.options.url", "is required for provider %q: the backend's https URL", ProviderWebhook)
		} else if err := webhookllm.CheckURL(u, loopback); err != nil {
			p.addf("llm.options.url", "%v", err)
		}
		if s, ok := o["secret"].(string); !ok {
			p.addf("llm.options.secret", "is required for provider %q: a whsec_… secret (use ${ENV_VAR})", ProviderWebhook)
		} else if err := webhookllm.CheckSecret(s); err != nil {
			p.addf("llm.options.secret", "%v", err)
		}
	}
	h := c.CallStart
	if h == nil {
		return
	}
	if err := webhookllm.CheckURL(h.URL, h.AllowInsecureLoopback); err != nil {
		p.addf("call_start.url", "%v", err)
	}
	if err := webhookllm.CheckSecret(h.Secret); err != nil {
		p.addf("call_start.secret", "%v", err)
	}
	if h.Timeout != 0 {
		checkDuration(p, "call_start.timeout", h.Timeout, 100*time.Millisecond, 10*time.Second)
	}
}
