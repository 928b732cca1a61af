package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-voice/parley/pipeline"
	"github.com/parley-voice/parley/runtime/events"
)

// agentSeries holds one agent's resolved series for the events of every
// turn, so that the sink's hot path is a map load and an observe, without
// hashing label values.
type agentSeries struct {
	stage     map[string]prometheus.Observer // by pipeline stage name
	budget    map[string]prometheus.Counter  // by pipeline stage name
	response  prometheus.Observer
	turns     [2]prometheus.Counter // not interrupted, interrupted
	bargeIns  [2]prometheus.Counter // interrupted, false
	duration  prometheus.Observer
	dropped   prometheus.Counter
	lateness  prometheus.Observer
	underruns prometheus.Counter
	watchdogs prometheus.Counter
}

func (m *Metrics) series(agent string) *agentSeries {
	if s, ok := m.perAgent.Load(agent); ok {
		return s.(*agentSeries)
	}
	s := &agentSeries{
		stage:     make(map[string]prometheus.Observer, len(pipeline.Stages)),
		budget:    make(map[string]prometheus.Counter, len(pipeline.Stages)),
		response:  m.response.WithLabelValues(agent),
		turns:     [2]prometheus.Counter{m.turns.WithLabelValues(agent, "false"), m.turns.WithLabelValues(agent, "true")},
		bargeIns:  [2]prometheus.Counter{m.bargeIns.WithLabelValues(agent, "interrupted"), m.bargeIns.WithLabelValues(agent, "false")},
		duration:  m.callDuration.WithLabelValues(agent),
		dropped:   m.droppedFrames.WithLabelValues(agent),
		lateness:  m.lateness.WithLabelValues(agent),
		underruns: m.underruns.WithLabelValues(agent),
		watchdogs: m.watchdogs.WithLabelValues(agent),
	}
	for _, st := range pipeline.Stages {
		s.stage[st] = m.stageLatency.WithLabelValues(agent, st)
		s.budget[st] = m.budgetExceeded.WithLabelValues(agent, st)
	}
	actual, _ := m.perAgent.LoadOrStore(agent, s)
	return actual.(*agentSeries)
}

// Accept updates the metrics from one event. It runs synchronously on the
// publishing call's goroutine: it only looks labels up and observes, and
// never blocks on anything but the short lock of the live-call table.
func (m *Metrics) Accept(e *events.Event) {
	p, _ := e.Payload.(map[string]any)
	switch e.Type {
	case events.CallStarted:
		m.callStarted(e, p)
	case events.CallEnded:
		m.callEnded(e, p)
	case events.TurnCompleted:
		s := m.series(m.agents.value(e.AgentID))
		if b, _ := p["interrupted"].(bool); b {
			s.turns[1].Inc()
		} else {
			s.turns[0].Inc()
		}
		m.observeStages(s, p["latency_ms"])
	case events.TurnBudgetExceeded:
		stage := str(p, "stage")
		if c, ok := m.series(m.agents.value(e.AgentID)).budget[stage]; ok {
			c.Inc()
		} else {
			m.budgetExceeded.WithLabelValues(m.agents.value(e.AgentID), m.stages.value(stage)).Inc()
		}
	case events.CallInterrupted:
		m.series(m.agents.value(e.AgentID)).bargeIns[0].Inc()
	case events.AgentResumed:
		m.series(m.agents.value(e.AgentID)).bargeIns[1].Inc()
	case events.CallWatchdog:
		m.series(m.agents.value(e.AgentID)).watchdogs.Inc()
	case events.ProviderError:
		m.providerErrors.WithLabelValues(m.agents.value(e.AgentID), m.stages.value(str(p, "stage")),
			m.providers.value(str(p, "provider"))).Inc()
	case events.ProviderFallback:
		m.fallbacks.WithLabelValues(m.agents.value(e.AgentID), m.stages.value(str(p, "stage"))).Inc()
	case events.ToolCompleted:
		agent, tool := m.agents.value(e.AgentID), m.tools.value(str(p, "name"))
		outcome := "error"
		if ok, _ := p["ok"].(bool); ok {
			outcome = "ok"
		}
		m.toolCalls.WithLabelValues(agent, tool, outcome).Inc()
		if ms, ok := num(p["duration_ms"]); ok {
			m.toolDuration.WithLabelValues(agent, tool).Observe(ms / 1000)
		}
	}
}

func (m *Metrics) callStarted(e *events.Event, p map[string]any) {
	l := callLabels{agent: m.agents.value(e.AgentID), transport: m.transports.value(str(p, "transport"))}
	m.mu.Lock()
	_, dup := m.calls[e.CallID]
	if !dup {
		m.calls[e.CallID] = l
	}
	m.mu.Unlock()
	if dup {
		return
	}
	m.callsStarted.WithLabelValues(l.agent, l.transport).Inc()
	m.callsLive.WithLabelValues(l.agent, l.transport).Inc()
}

func (m *Metrics) callEnded(e *events.Event, p map[string]any) {
	m.mu.Lock()
	l, live := m.calls[e.CallID]
	delete(m.calls, e.CallID)
	m.mu.Unlock()
	if live {
		m.callsLive.WithLabelValues(l.agent, l.transport).Dec()
	} else {
		// Started before the metrics were attached: counted as ended only.
		l.agent = m.agents.value(e.AgentID)
	}
	m.callsEnded.WithLabelValues(l.agent, m.reasons.value(str(p, "reason"))).Inc()
	s := m.series(l.agent)
	if ms, ok := num(p["duration_ms"]); ok {
		s.duration.Observe(ms / 1000)
	}
	if n, ok := num(p["dropped_frames"]); ok && n > 0 {
		s.dropped.Add(n)
	}
	if pc, ok := p["pacing"].(map[string]any); ok {
		if n, _ := num(pc["frames_written"]); n > 0 {
			if ms, ok := num(pc["lateness_p99_ms"]); ok {
				s.lateness.Observe(ms / 1000)
			}
		}
		if n, _ := num(pc["underruns"]); n > 0 {
			s.underruns.Add(n)
		}
	}
}

// observeStages observes turn.completed's latency_ms breakdown: each stage,
// and "response".
func (m *Metrics) observeStages(s *agentSeries, v any) {
	switch lat := v.(type) {
	case map[string]float64: // as the call publishes it
		for k, ms := range lat {
			m.observeStage(s, k, ms)
		}
	case map[string]any: // as decoded from JSON
		for k, x := range lat {
			if ms, ok := num(x); ok {
				m.observeStage(s, k, ms)
			}
		}
	}
}

func (m *Metrics) observeStage(s *agentSeries, stage string, ms float64) {
	if stage == "response" {
		s.response.Observe(ms / 1000)
		return
	}
	if o, ok := s.stage[stage]; ok {
		o.Observe(ms / 1000)
	}
}

// str returns a payload's string field, or "".
func str(p map[string]any, k string) string {
	s, _ := p[k].(string)
	return s
}

// num returns a payload number of any of the types the call publishes (or
// JSON decodes to) as a float64.
func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint:
		return float64(x), true
	}
	return 0, false
}
