package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parley-voice/parley/agents"
	"github.com/parley-voice/parley/runtime/call"
)

// ErrUnknownAgent is returned when an agent id names no agent of the server.
var ErrUnknownAgent = errors.New("no such agent")

// ErrWebhooksChanged is returned when a new version of an agent changes its
// own webhook endpoints (`webhooks:`): the webhook dispatcher's endpoints are
// fixed when the server starts, so that change needs a restart.
var ErrWebhooksChanged = errors.New("an agent's own webhook endpoints cannot change while the server runs; restart the server to apply them")

// Agent sources other than a config file's path.
const (
	// SourceAdminAPI marks an agent put through the admin API.
	SourceAdminAPI = "admin-api"
	// SourceCode marks an agent given to New without a file name.
	SourceCode = "code"
)

// AgentInfo describes the version of an agent that takes new calls.
type AgentInfo struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Version identifies this version: its generation on this node (1 for the
	// version loaded at start, counting up with every change) and a short hash
	// of the config, equal on every node that loaded the same config.
	Version string `json:"version"`
	// Source is the config file, SourceAdminAPI or SourceCode.
	Source   string    `json:"source"`
	LoadedAt time.Time `json:"loaded_at"`
	STT      string    `json:"stt"`
	TTS      string    `json:"tts"`
	LLM      string    `json:"llm"`
	// LiveCalls is how many live calls run on this version.
	LiveCalls int64 `json:"live_calls"`
}

// agentVersion is one provisioned version of an agent. It never changes once
// in the table: a change provisions a new version and swaps it in, and calls
// keep the *call.Agent they started with.
type agentVersion struct {
	agent    *call.Agent
	source   string
	loadedAt time.Time
	norm     []byte // the config in normal form, to tell a change from the same config loaded again

	live      atomic.Int64 // calls started on this version and not yet ended
	retired   atomic.Bool  // no longer takes new calls
	closeOnce sync.Once
}

func (v *agentVersion) info() AgentInfo {
	c := v.agent.Config
	return AgentInfo{ID: c.ID, Name: c.Name, Description: c.Description, Version: v.agent.Version,
		Source: v.source, LoadedAt: v.loadedAt, STT: c.STT.Provider, TTS: c.TTS.Provider, LLM: c.LLM.Provider,
		LiveCalls: v.live.Load()}
}

// release is called when a call on this version ends.
func (v *agentVersion) release() {
	if v.live.Add(-1) == 0 && v.retired.Load() {
		v.close()
	}
}

// retire stops the version taking new calls; its tools close when its last
// call ends. Called under the table's write lock, which acquire also holds,
// so no call can start on it after it is found idle.
func (v *agentVersion) retire() {
	v.retired.Store(true)
	if v.live.Load() == 0 {
		v.close()
	}
}

func (v *agentVersion) close() {
	v.closeOnce.Do(func() {
		if v.agent.Tools != nil {
			_ = v.agent.Tools.Close()
		}
	})
}

// agentTable holds the agents a server runs, each at its current version.
// Lookups take a read lock; a change is provisioned first, outside that lock
// (under change, which serialises changes), and swapped in under the write
// lock, so a call never sees a half-provisioned agent.
type agentTable struct {
	mu  sync.RWMutex
	cur map[string]*agentVersion

	change sync.Mutex
	// gens is the last generation given to each id, kept after a removal so
	// that an agent added again gets a new version.
	gens map[string]int
	// files is the normal form of each agent as last loaded from the config
	// files, so that a reload applies only what changed in them.
	files map[string][]byte
	// webhooks are the agents' own webhook endpoints at start.
	webhooks map[string][]map[string]any
}

// lookup returns the current version of an agent.
func (t *agentTable) lookup(id string) (*agentVersion, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.cur[id]
	return v, ok
}

// acquire returns the current version of an agent and counts a call on it;
// the caller must call release when the call ends or fails to start.
func (t *agentTable) acquire(id string) (*agentVersion, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.cur[id]
	if ok {
		v.live.Add(1)
	}
	return v, ok
}

func (t *agentTable) ids() []string {
	t.mu.RLock()
	ids := make([]string, 0, len(t.cur))
	for id := range t.cur {
		ids = append(ids, id)
	}
	t.mu.RUnlock()
	sort.Strings(ids)
	return ids
}

func (t *agentTable) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.cur)
}

// swap applies set (new versions by id) and del (ids to remove) at once and
// retires the versions they replace. Call it holding t.change.
func (t *agentTable) swap(set map[string]*agentVersion, del []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := make(map[string]*agentVersion, len(t.cur)+len(set))
	for id, v := range t.cur {
		next[id] = v
	}
	for _, id := range del {
		if old, ok := next[id]; ok {
			old.retire()
			delete(next, id)
		}
	}
	for id, v := range set {
		if old, ok := next[id]; ok && old != v {
			old.retire()
		}
		next[id] = v
	}
	t.cur = next
}

// closeAll closes the tools of every version; the server has stopped.
func (t *agentTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range t.cur {
		v.retire()
	}
}

// normalForm is a config as the server runs it (after defaults and ${VAR}
// substitution), to compare two loads of an agent.
func normalForm(c *agents.Config) ([]byte, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("agent %s: encoding config: %w", c.ID, err)
	}
	return b, nil
}

// versionID names generation gen of a config: "3-9f86d081". The hash covers
// the whole config; 32 bits of a SHA-256 say nothing usable about a secret
// in it.
func versionID(gen int, norm []byte) string {
	sum := sha256.Sum256(norm)
	return fmt.Sprintf("%d-%s", gen, hex.EncodeToString(sum[:4]))
}

// prepare provisions a new version of a validated config without
// installing it. It returns nil, nil when the config is the same as the
// current version's. Call it holding t.change.
func (s *Server) prepare(c *agents.Config, source string) (*agentVersion, error) {
	if c == nil || c.ID == "" {
		return nil, errors.New("agent config without an id")
	}
	if s.cfg.OnAgentConfig != nil {
		s.cfg.OnAgentConfig(c)
	}
	norm, err := normalForm(c)
	if err != nil {
		return nil, err
	}
	t := &s.agents
	if cur, ok := t.lookup(c.ID); ok && string(cur.norm) == string(norm) {
		return nil, nil
	}
	if t.webhooks != nil && !sameWebhooks(t.webhooks[c.ID], c.Webhooks) {
		return nil, fmt.Errorf("agent %s: webhooks: %w", c.ID, ErrWebhooksChanged)
	}
	a, err := Provision(c, s.cfg.Tools, s.cfg.Providers)
	if err != nil {
		return nil, err
	}
	gen := t.gens[c.ID] + 1
	a.Version = versionID(gen, norm)
	return &agentVersion{agent: a, source: source, loadedAt: time.Now(), norm: norm}, nil
}

// commit installs prepared versions and removals, counting generations.
// Call it holding t.change.
func (s *Server) commit(set map[string]*agentVersion, del []string) {
	t := &s.agents
	for id := range set {
		t.gens[id]++
	}
	t.swap(set, del)
}

func sameWebhooks(a, b []map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// agentSource is where a config came from, for AgentInfo.Source.
func agentSource(c *agents.Config) string {
	if src := c.Source(); src != "" {
		return src
	}
	return SourceCode
}

// Agents describes every agent at the version that takes new calls, by id.
func (s *Server) Agents() []AgentInfo {
	s.agents.mu.RLock()
	out := make([]AgentInfo, 0, len(s.agents.cur))
	for _, v := range s.agents.cur {
		out = append(out, v.info())
	}
	s.agents.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// PutAgent adds an agent or replaces it with a new version. The config is
// validated and the new version fully provisioned before it takes new calls;
// calls in progress finish on the version they started with. On any error
// nothing changes. changed is false when c is the same as the current
// version, which is kept.
func (s *Server) PutAgent(c *agents.Config, source string) (info AgentInfo, changed bool, _ error) {
	t := &s.agents
	t.change.Lock()
	defer t.change.Unlock()
	var v *agentVersion
	var err error
	if c == nil {
		err = errors.New("no agent config")
	} else if err = c.Validate(); err == nil { // done by agents.Parse already; a config built in code may not be
		v, err = s.prepare(c, source)
	}
	if err != nil {
		s.log.Error("agent change refused; the current version keeps serving", "agent_id", agentIDOf(c), "source", source, "err", err)
		return AgentInfo{}, false, err
	}
	if v == nil {
		cur, _ := t.lookup(c.ID)
		return cur.info(), false, nil
	}
	s.commit(map[string]*agentVersion{c.ID: v}, nil)
	s.log.Info("agent version loaded", "agent_id", c.ID, "version", v.agent.Version, "source", source)
	return v.info(), true, nil
}

// RemoveAgent stops an agent taking new calls (they are refused as an
// unknown agent); its live calls finish on their version.
func (s *Server) RemoveAgent(id string) error {
	t := &s.agents
	t.change.Lock()
	defer t.change.Unlock()
	v, ok := t.lookup(id)
	if !ok {
		return fmt.Errorf("agent %q: %w", id, ErrUnknownAgent)
	}
	t.swap(nil, []string{id})
	s.log.Info("agent removed; its live calls finish", "agent_id", id, "version", v.agent.Version, "live_calls", v.live.Load())
	return nil
}

func agentIDOf(c *agents.Config) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// agentIDs lists the ids of the agents taking calls, sorted.
func (s *Server) agentIDs() []string { return s.agents.ids() }

// loadInitialAgents provisions the agents New was given: every failure is
// reported, with the agent named.
func (s *Server) loadInitialAgents(cfgs []*agents.Config) error {
	t := &s.agents
	t.change.Lock()
	defer t.change.Unlock()
	t.gens, t.files = map[string]int{}, map[string][]byte{}
	set := map[string]*agentVersion{}
	var errs []error
	for _, c := range cfgs {
		if c == nil {
			continue
		}
		if _, dup := set[c.ID]; dup {
			errs = append(errs, fmt.Errorf("agent id %q is defined twice", c.ID))
			continue
		}
		v, err := s.prepare(c, agentSource(c))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		set[c.ID] = v
	}
	if err := errors.Join(errs...); err != nil {
		for _, v := range set {
			v.close()
		}
		return err
	}
	if len(set) == 0 {
		return errors.New("no agents configured")
	}
	// From now on an agent's own webhook endpoints are fixed (see
	// ErrWebhooksChanged).
	t.webhooks = map[string][]map[string]any{}
	for id, v := range set {
		t.files[id] = v.norm
		t.webhooks[id] = v.agent.Config.Webhooks
	}
	s.commit(set, nil)
	return nil
}
