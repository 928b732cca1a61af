package webhooks

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-voice/parley/runtime/events"
)

func TestCheckPayload(t *testing.T) {
	ev := &events.Event{Type: events.CallEnded, ID: "evt_01JH", CallID: "call_1", Sequence: 9,
		Timestamp: time.Now(), Payload: map[string]any{"transcript": strings.Repeat("hello ", 50_000)}}
	m, err := NewMessage(ev)
	if err != nil {
		t.Fatal(err)
	}
	if m.EventID != ev.ID || m.Type != ev.Type || m.CallID != "call_1" || m.Sequence != 9 {
		t.Fatalf("message %+v", m)
	}
	ep := &Endpoint{ID: "crm"}
	err = CheckPayload(ep, m.Body)
	var pe *PayloadTooLargeError
	if !errors.As(err, &pe) || !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("CheckPayload = %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"call.ended", "evt_01JH", `"crm"`, "262144", "max_payload_bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
	if pe.Size != len(m.Body) || pe.Limit != DefaultMaxPayloadBytes {
		t.Errorf("error %+v", pe)
	}
	ep.MaxPayloadBytes = 1 << 20
	if err := CheckPayload(ep, m.Body); err != nil {
		t.Errorf("under a raised limit: %v", err)
	}
	ep.MaxPayloadBytes = 10
	if err := CheckPayload(ep, []byte("not json but long")); err == nil || !strings.Contains(err.Error(), "(unidentified)") {
		t.Errorf("unparseable body: %v", err)
	}
	if err := CheckPayload(ep, []byte("{}")); err != nil {
		t.Errorf("small body: %v", err)
	}
}
