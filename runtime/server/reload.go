package server

import (
	"errors"
	"fmt"
	"sort"

	"github.com/parley-voice/parley/agents"
)

// ErrReloadUnavailable is returned by Reload when the server was not given
// Config.LoadAgents.
var ErrReloadUnavailable = errors.New("reloading is not available: the server was not started from config files")

// ReloadResult says what a reload changed, by agent id.
type ReloadResult struct {
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
	// Unchanged agents kept their version.
	Unchanged []string `json:"unchanged"`
}

// Empty reports whether the reload changed nothing.
func (r ReloadResult) Empty() bool {
	return len(r.Added)+len(r.Changed)+len(r.Removed) == 0
}

// Reload reads the agents again with Config.LoadAgents and applies what
// changed in them since they were last loaded: a new agent is added, a
// changed one gets a new version, one no longer there is removed. Every new
// version is validated and provisioned before any takes calls; on any error
// nothing changes and the current versions keep serving. Calls in progress
// finish on the version they started with.
//
// Only changes in the files apply: an agent the files define as they did at
// the last load keeps its current version, even one put or deleted through
// the admin API since.
func (s *Server) Reload() (ReloadResult, error) {
	if s.cfg.LoadAgents == nil {
		return ReloadResult{}, ErrReloadUnavailable
	}
	t := &s.agents
	t.change.Lock()
	defer t.change.Unlock()
	res, err := s.reload()
	if err != nil {
		s.log.Error("agent reload refused; the current versions keep serving", "err", err)
		return ReloadResult{}, err
	}
	if res.Empty() {
		s.log.Info("agent reload: nothing changed", "agents", len(res.Unchanged))
	} else {
		s.log.Info("agents reloaded", "added", res.Added, "changed", res.Changed, "removed", res.Removed)
	}
	return res, nil
}

// reload does Reload's work holding t.change.
func (s *Server) reload() (ReloadResult, error) {
	t := &s.agents
	cfgs, err := s.cfg.LoadAgents()
	if err != nil {
		return ReloadResult{}, err
	}
	var (
		res   ReloadResult
		errs  []error
		set   = map[string]*agentVersion{}
		files = map[string][]byte{}
	)
	for _, c := range cfgs {
		if _, dup := files[c.ID]; dup {
			errs = append(errs, fmt.Errorf("agent id %q is defined twice (%s)", c.ID, agentSource(c)))
			continue
		}
		norm, err := normalForm(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files[c.ID] = norm
		if last, ok := t.files[c.ID]; ok && string(last) == string(norm) {
			res.Unchanged = append(res.Unchanged, c.ID)
			continue
		}
		v, err := s.prepare(c, agentSource(c))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, exists := t.lookup(c.ID)
		switch {
		case v == nil:
			res.Unchanged = append(res.Unchanged, c.ID)
		case exists:
			res.Changed = append(res.Changed, c.ID)
			set[c.ID] = v
		default:
			res.Added = append(res.Added, c.ID)
			set[c.ID] = v
		}
	}
	if err := errors.Join(errs...); err != nil {
		for _, v := range set {
			v.close()
		}
		return ReloadResult{}, err
	}
	var del []string
	for id := range t.files {
		if _, still := files[id]; still {
			continue
		}
		if _, ok := t.lookup(id); ok {
			del = append(del, id)
		}
	}
	sort.Strings(del)
	res.Removed = del
	for _, l := range [][]string{res.Added, res.Changed, res.Unchanged} {
		sort.Strings(l)
	}
	s.commit(set, del)
	t.files = files
	return res, nil
}

// configProblem is one problem of a refused agent config, for the admin API.
type configProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// configProblems lists the field errors in err (agents.FieldError, joined),
// or err as one problem when it has none.
func configProblems(err error) []configProblem {
	var out []configProblem
	var walk func(error)
	walk = func(err error) {
		var fe *agents.FieldError
		switch {
		case err == nil:
		case errors.As(err, &fe) && fe == err:
			out = append(out, configProblem{File: fe.File, Line: fe.Line, Column: fe.Column, Path: fe.Path, Message: fe.Msg})
		default:
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				for _, e := range j.Unwrap() {
					walk(e)
				}
				return
			}
			if errors.As(err, &fe) {
				out = append(out, configProblem{File: fe.File, Line: fe.Line, Column: fe.Column, Path: fe.Path, Message: err.Error()})
				return
			}
			out = append(out, configProblem{Message: err.Error()})
		}
	}
	walk(err)
	return out
}
