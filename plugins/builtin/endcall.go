package builtin

import (
	"context"

	"github.com/parley-voice/parley/plugins"
)

type endCallArgs struct {
	Reason string `json:"reason,omitempty" jsonschema:"description=Why the call is ending\\, e.g. the caller said goodbye or the request is resolved"`
}

// EndCall returns the end_call tool: the model calls it to hang up once it has
// finished speaking. The result carries plugins.ActionEndCall and the reason.
func EndCall() plugins.Tool {
	return plugins.MustFunc(EndCallName,
		"End the phone call. Use it after saying goodbye, when the caller is done or asks to hang up.",
		func(_ context.Context, a endCallArgs) (any, error) {
			return plugins.Result{
				Content: `{"ok":true,"action":"end_call"}`,
				Action:  plugins.ActionEndCall,
				Reason:  a.Reason,
			}, nil
		})
}
