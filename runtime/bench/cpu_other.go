//go:build !unix

package bench

import "time"

// cpuTime is unavailable here.
func cpuTime() time.Duration { return -1 }
