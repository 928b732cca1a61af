package all_test

import (
	"slices"
	"testing"

	"github.com/parley-voice/parley/plugins"
	_ "github.com/parley-voice/parley/plugins/all"
)

func TestBundlesBuiltins(t *testing.T) {
	names := plugins.Default().Names()
	for _, n := range []string{"end_call", "transfer_call", "http_request", "knowledge_search"} {
		if !slices.Contains(names, n) {
			t.Errorf("%s missing from Default: %v", n, names)
		}
	}
}
