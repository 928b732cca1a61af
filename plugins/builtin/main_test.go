package builtin

import (
	"testing"

	"go.uber.org/goleak"
)

// HTTP clients and servers in these tests must leave nothing running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
