// Package all bundles every built-in tool into a binary. Import it for its side
// effect of registering them into plugins.Default:
//
//	import _ "github.com/parley-voice/parley/plugins/all"
//
// Programs that want only some built-ins import plugins/builtin and narrow the
// environment with plugins.Default().With or Without.
package all

import (
	// Registers end_call, transfer_call, http_request and knowledge_search.
	_ "github.com/parley-voice/parley/plugins/builtin"
)
