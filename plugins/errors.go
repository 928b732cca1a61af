package plugins

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors from registering, building and running tools wrap
// one of these wherever a caller may act on the case (errors.Is); the messages
// around them say which tool, ref, argument or option was involved.
var (
	// ErrInvalidName: a tool name does not match ^[a-zA-Z0-9_-]{1,64}$, the rule
	// OpenAI-compatible APIs enforce.
	ErrInvalidName = errors.New("invalid tool name")
	// ErrDuplicateTool: a name is registered twice in an Environment, or two refs
	// of one Toolset end up with the same name.
	ErrDuplicateTool = errors.New("duplicate tool")
	// ErrUnknownTool: no tool of that name is registered or in the Toolset.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrBadOptions: a tool factory rejected its configuration options.
	ErrBadOptions = errors.New("bad tool options")
	// ErrBadSchema: a tool's argument schema cannot be derived or is not a JSON
	// object schema.
	ErrBadSchema = errors.New("bad tool schema")
	// ErrBadArguments: the arguments of a tool call are not valid JSON or do not
	// match the tool's schema. The model can usually correct itself if told.
	ErrBadArguments = errors.New("bad tool arguments")
	// ErrBadResult: a tool returned a result that cannot be acted on, such as a
	// transfer without a destination.
	ErrBadResult = errors.New("bad tool result")
	// ErrToolTimeout: the tool did not return before its deadline.
	ErrToolTimeout = errors.New("tool timed out")
	// ErrToolPanicked: the tool panicked; the panic and its stack are logged, not
	// returned.
	ErrToolPanicked = errors.New("tool panicked")
)

// ToolError is an error from a tool call, naming the tool as the model sees it.
// Run returns every failure as a *ToolError; errors.Is sees through it.
type ToolError struct {
	// Tool is the tool's name.
	Tool string
	// Err is what went wrong.
	Err error
}

func (e *ToolError) Error() string { return fmt.Sprintf("tool %q: %v", e.Tool, e.Err) }

// Unwrap returns the underlying error.
func (e *ToolError) Unwrap() error { return e.Err }

// toolError wraps err in a *ToolError for name unless it already is one. A
// *ToolError at the top of the chain is renamed, so a tool renamed by a Ref
// reports the name the model used.
func toolError(name string, err error) error {
	if err == nil {
		return nil
	}
	if te, ok := err.(*ToolError); ok {
		if te.Tool == name {
			return te
		}
		return &ToolError{Tool: name, Err: te.Err}
	}
	return &ToolError{Tool: name, Err: err}
}
