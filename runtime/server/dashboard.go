package server

import (
	"net/http"
	"sort"

	"github.com/parley-voice/parley/runtime/call"
	"github.com/parley-voice/parley/runtime/dashboard"
	"github.com/parley-voice/parley/runtime/webhooks/dispatch"
)

// Calls returns a snapshot of the live calls, oldest first.
func (s *Server) Calls() []call.Info {
	s.mu.Lock()
	live := make([]*call.Call, 0, len(s.calls))
	for _, c := range s.calls {
		live = append(live, c)
	}
	s.mu.Unlock()
	// Each state is read under the call's own lock, never under s.mu.
	out := make([]call.Info, 0, len(live))
	for _, c := range live {
		out = append(out, c.Info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

// MountDashboard serves the live dashboard: the page at /dashboard/ and its
// API at /v1/admin/dashboard/, which needs adminToken (without one it
// answers 403 saying how to set it). It starts recording the server's events
// for the dashboard's call pages. Call it before Handler or Serve, and after
// the webhook admin API is mounted at dispatch.AdminPrefix (if it is), so
// that the dashboard knows to show webhooks.
func (s *Server) MountDashboard(adminToken string) {
	rec := dashboard.NewRecorder(0, 0)
	s.bus.AddSink(rec)
	_, webhooks := s.routes[dispatch.AdminPrefix]
	s.Mount(dashboard.PagePrefix, dashboard.Page())
	s.Mount("GET /dashboard", http.RedirectHandler(dashboard.PagePrefix, http.StatusMovedPermanently))
	s.Mount(dashboard.APIPrefix, dashboard.NewAPI(dashboard.Config{
		Token: adminToken, Recorder: rec, Bus: s.bus, Calls: s.Calls,
		Agents: s.agentIDs, Webhooks: webhooks, Logger: s.log,
	}))
}
