package call

import (
	"sort"

	"github.com/parley-voice/parley/runtime/events"
)

// emit publishes one event in the call's envelope with the next sequence number.
func (c *Call) emit(typ string, payload map[string]any) {
	now := c.now()
	c.seq++
	if payload == nil {
		payload = map[string]any{}
	}
	e := &events.Event{
		Type:        typ,
		ID:          events.NewEventID(now),
		APIVersion:  events.APIVersion,
		CallID:      c.id,
		AgentID:     c.cfg.ID,
		Sequence:    c.seq,
		Timestamp:   now,
		Payload:     payload,
		TraceParent: c.traceParent(),
	}
	c.bus.Publish(e)
	if n, ok := c.conn.(Notifier); ok {
		n.Notify(e)
	}
}

func (c *Call) sinceStartMS() float64 {
	return float64(c.now().Sub(c.started).Microseconds()) / 1000
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}
