package providertest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a fake leaves a goroutine behind after Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
