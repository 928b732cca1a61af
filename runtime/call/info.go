package call

import "time"

// Info is a snapshot of a live call for admin views (the dashboard): what the
// call was started with and the state it is in now.
type Info struct {
	ID        string    `json:"call_id"`
	AgentID   string    `json:"agent_id"`
	Transport string    `json:"transport"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	State     string    `json:"state"`
	Started   time.Time `json:"started_at"`
}

// Transport returns the transport the call arrived on ("websocket",
// "twilio", "webrtc", …).
func (c *Call) Transport() string { return c.params.Transport }

// From returns the caller's number or id as the transport gave it.
func (c *Call) From() string { return c.params.From }

// To returns the called number or id as the transport gave it.
func (c *Call) To() string { return c.params.To }

// StartedAt returns when the call was started. It is set before the actor
// goroutine starts and never changes, so any goroutine may read it.
func (c *Call) StartedAt() time.Time { return c.started }

// Info returns a snapshot of the call. Safe from any goroutine: the fields
// it reads are fixed at Start, and the state is read under the FSM's lock.
func (c *Call) Info() Info {
	return Info{ID: c.id, AgentID: c.cfg.ID, Transport: c.params.Transport, From: c.params.From, To: c.params.To,
		State: c.State(), Started: c.started}
}
