package call

import (
	"context"
	"errors"

	"github.com/looplab/fsm"
)

// States of a call. The FSM is driven only from the actor goroutine.
const (
	StateConnecting   = "connecting"
	StateGreeting     = "greeting"
	StateListening    = "listening"
	StateUserSpeaking = "user_speaking"
	StateThinking     = "thinking"
	StateToolRunning  = "tool_running"
	StateSpeaking     = "speaking"
	StateTransferring = "transferring"
	StateEnded        = "ended"
)

// FSM events.
const (
	evAnswer   = "answer"
	evListen   = "listen"
	evUserTalk = "user_speech"
	evThink    = "think"
	evRunTool  = "run_tool"
	evSpeak    = "speak"
	evTransfer = "transfer"
	evHangup   = "hangup"
)

var allStates = []string{StateConnecting, StateGreeting, StateListening, StateUserSpeaking,
	StateThinking, StateToolRunning, StateSpeaking, StateTransferring}

func newFSM(onEnter func(from, to, event string)) *fsm.FSM {
	return fsm.NewFSM(StateConnecting, fsm.Events{
		{Name: evAnswer, Src: []string{StateConnecting}, Dst: StateGreeting},
		{Name: evListen, Src: []string{StateGreeting, StateSpeaking, StateThinking, StateToolRunning, StateUserSpeaking, StateConnecting}, Dst: StateListening},
		{Name: evUserTalk, Src: []string{StateListening, StateThinking, StateToolRunning, StateSpeaking, StateGreeting}, Dst: StateUserSpeaking},
		{Name: evThink, Src: []string{StateUserSpeaking, StateToolRunning, StateListening, StateSpeaking}, Dst: StateThinking},
		{Name: evRunTool, Src: []string{StateThinking, StateSpeaking}, Dst: StateToolRunning},
		{Name: evSpeak, Src: []string{StateThinking, StateToolRunning, StateListening, StateUserSpeaking}, Dst: StateSpeaking},
		{Name: evTransfer, Src: allStates, Dst: StateTransferring},
		{Name: evHangup, Src: allStates, Dst: StateEnded},
	}, fsm.Callbacks{
		"enter_state": func(_ context.Context, e *fsm.Event) { onEnter(e.Src, e.Dst, e.Event) },
	})
}

// fire moves the FSM; a no-op transition is success, an event not allowed from
// the current state is reported (it means the actor's bookkeeping is off).
func (c *Call) fire(event string) {
	err := c.fsm.Event(context.Background(), event)
	if err == nil {
		return
	}
	var nt fsm.NoTransitionError
	if errors.As(err, &nt) {
		return
	}
	c.log.Debug("state transition refused", "event", event, "state", c.fsm.Current(), "err", err)
}
