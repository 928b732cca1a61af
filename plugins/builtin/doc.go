// Package builtin holds the tools that ship with Parley and registers them into
// plugins.Default when imported (import plugins/all to get every built-in):
//
//   - end_call: hang up once the agent has finished speaking.
//   - transfer_call: transfer the caller to a phone number or SIP URI,
//     optionally limited to configured destinations.
//   - http_request: call an HTTP API configured in the agent file, with
//     HTTPS-only, no-redirect and private-address (SSRF) protection by default.
//   - knowledge_search: answer from a folder of Markdown/text documents (BM25,
//     optionally re-ranked by an OpenAI-compatible embeddings endpoint).
package builtin

import "github.com/parley-voice/parley/plugins"

// Registered names of the built-in tools.
const (
	EndCallName      = "end_call"
	TransferCallName = "transfer_call"
	HTTPRequestName  = "http_request"
)

func init() {
	must(plugins.RegisterTool(EndCall()))
	must(plugins.Register(TransferCallName, NewTransferCall))
	must(plugins.Register(HTTPRequestName, NewHTTPRequest))
}

// must stops the program at start-up if a built-in cannot register: that is a
// programming error (a duplicate name), not something to run without.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
