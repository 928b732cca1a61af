package plugins

import (
	"testing"

	"go.uber.org/goleak"
)

// Tools run on their own goroutines; none may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
