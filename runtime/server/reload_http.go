package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/adminauth"
)

// AgentAdminPrefix is where the agent admin API is served.
const AgentAdminPrefix = "/v1/admin/agents"

// MaxAgentBody bounds the YAML body of PUT /v1/admin/agents/{id}.
const MaxAgentBody = 1 << 20

// mountAgentAdmin adds the agent admin API to mux: list, put, delete and
// reload, each needing the admin token (Config.AdminToken) as a bearer
// token. Without a token configured every request is refused (403).
func (s *Server) mountAgentAdmin(mux *http.ServeMux) {
	p := AgentAdminPrefix
	mux.Handle("GET "+p, s.agentAdmin(s.adminListAgents))
	mux.Handle("GET "+p+"/{id}", s.agentAdmin(s.adminGetAgent))
	mux.Handle("PUT "+p+"/{id}", s.agentAdmin(s.adminPutAgent))
	mux.Handle("DELETE "+p+"/{id}", s.agentAdmin(s.adminDeleteAgent))
	mux.Handle("POST "+p+"/reload", s.agentAdmin(s.adminReload))
}

// agentAdmin wraps an admin route with its headers and authentication.
func (s *Server) agentAdmin(h http.HandlerFunc) http.Handler {
	want := adminauth.New(s.cfg.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if s.cfg.AdminToken == "" {
			adminFail(w, http.StatusForbidden, "admin_disabled",
				`the agent admin API is disabled: configure an admin token (admin.token in the server config, --admin-token or PARLEY_ADMIN_TOKEN) and send it as "Authorization: Bearer <token>"`, nil)
			return
		}
		if err := want.Check(r); err != nil {
			w.Header().Set("WWW-Authenticate", adminauth.Challenge("parley-admin", err))
			adminFail(w, http.StatusUnauthorized, "unauthorized", err.Error(), nil)
			return
		}
		h(w, r)
	})
}

func adminFail(w http.ResponseWriter, status int, code, msg string, problems []configProblem) {
	body := map[string]any{"error": msg, "code": code}
	if len(problems) > 0 {
		body["problems"] = problems
	}
	writeJSON(w, status, body)
}

func (s *Server) adminListAgents(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"agents": s.Agents(), "reload": s.cfg.LoadAgents != nil})
}

func (s *Server) adminGetAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, ok := s.agents.lookup(id)
	if !ok {
		adminFail(w, http.StatusNotFound, "unknown_agent", fmt.Sprintf("no agent %q on this node", id), nil)
		return
	}
	writeJSON(w, http.StatusOK, v.info())
}

// adminPutAgent adds or replaces an agent from a YAML config in the body
// (the format of an agent file; its id must be the one in the path).
func (s *Server) adminPutAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAgentBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			adminFail(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the agent config is larger than %d bytes", MaxAgentBody), nil)
			return
		}
		adminFail(w, http.StatusBadRequest, "bad_request", "reading the body: "+err.Error(), nil)
		return
	}
	cfg, err := agents.Parse(AgentAdminPrefix+"/"+id, data, os.LookupEnv)
	if err != nil {
		s.log.Error("agent change refused: invalid config; the current version keeps serving", "agent_id", id, "source", SourceAdminAPI, "err", err)
		adminFail(w, http.StatusUnprocessableEntity, "invalid_config", "the agent config is invalid; nothing changed", configProblems(err))
		return
	}
	if cfg.ID != id {
		adminFail(w, http.StatusBadRequest, "id_mismatch",
			fmt.Sprintf("the config's id is %q but the path names %q; they must be the same", cfg.ID, id),
			[]configProblem{{Path: "id", Message: "must be " + id}})
		return
	}
	_, existed := s.agents.lookup(id)
	info, changed, err := s.PutAgent(cfg, SourceAdminAPI)
	if err != nil {
		code := "provisioning_failed"
		if errors.Is(err, ErrWebhooksChanged) {
			code = "webhooks_changed"
		}
		adminFail(w, http.StatusUnprocessableEntity, code, "the agent cannot be provisioned; nothing changed: "+err.Error(), configProblems(err))
		return
	}
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]any{"agent": info, "changed": changed})
}

func (s *Server) adminDeleteAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, ok := s.agents.lookup(id)
	if !ok || s.RemoveAgent(id) != nil {
		adminFail(w, http.StatusNotFound, "unknown_agent", fmt.Sprintf("no agent %q on this node", id), nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"removed": id, "version": v.agent.Version, "live_calls": v.live.Load()})
}

func (s *Server) adminReload(w http.ResponseWriter, r *http.Request) {
	res, err := s.Reload()
	switch {
	case errors.Is(err, ErrReloadUnavailable):
		adminFail(w, http.StatusConflict, "reload_unavailable", err.Error(), nil)
	case err != nil:
		adminFail(w, http.StatusUnprocessableEntity, "reload_failed", "the agents were not reloaded; the current versions keep serving", configProblems(err))
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
