package server

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// healthz answers while the process serves HTTP at all: a liveness probe. It
// checks nothing else, so that a busy or draining node is not restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// ready is the readiness probe: 200 only when this node should be sent new
// calls. It answers 503 while draining (after SIGTERM), at capacity, without
// agents, or while a check added with AddReadyCheck (the webhook queue's
// connection) fails. The body lists every check with "ok" or what is wrong.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	draining, live := s.draining, len(s.calls)
	s.mu.Unlock()
	checks := map[string]string{}
	failed := map[string]string{}
	set := func(name string, err error) {
		if err != nil {
			checks[name], failed[name] = err.Error(), err.Error()
			return
		}
		checks[name] = "ok"
	}
	set("agents", s.agentsReady())
	for name, check := range s.checks {
		set(name, check())
	}
	status := http.StatusOK
	body := map[string]any{"status": "ready", "live_calls": live, "max_calls": s.cfg.MaxCalls,
		"agents": s.agents.len(), "checks": checks}
	if len(failed) > 0 {
		body["failed_checks"] = failed
	}
	switch {
	case draining:
		status, body["status"] = http.StatusServiceUnavailable, "draining"
	case len(failed) > 0:
		status, body["status"] = http.StatusServiceUnavailable, "not_ready"
	case live >= s.cfg.MaxCalls:
		status, body["status"] = http.StatusServiceUnavailable, "full"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, body)
}

// agentsReady checks that the node has agents and that each one's current
// version is provisioned with every stage's provider. Provisioning already
// refused configs whose providers cannot start (a missing API key, espeak-ng
// or PocketSphinx not installed), so a failure here means an agent table the
// node cannot serve from.
func (s *Server) agentsReady() error {
	s.agents.mu.RLock()
	defer s.agents.mu.RUnlock()
	if len(s.agents.cur) == 0 {
		return fmt.Errorf("no agents: add one with PUT /v1/admin/agents/{id} or in the config files")
	}
	var bad []string
	for id, v := range s.agents.cur {
		a := v.agent
		var missing []string
		if a.STT == nil {
			missing = append(missing, "stt")
		}
		if a.TTS == nil {
			missing = append(missing, "tts")
		}
		if a.NewLLM == nil {
			missing = append(missing, "llm")
		}
		if len(missing) > 0 {
			bad = append(bad, fmt.Sprintf("%s (no %s)", id, strings.Join(missing, ", ")))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("agents not provisioned: %s", strings.Join(bad, "; "))
	}
	return nil
}
