//go:build !linux

package experiments

import "time"

// groupUsage is not measured off Linux.
func groupUsage(int) usage { return usage{} }

type selfTimes struct {
	user, system           time.Duration
	voluntary, involuntary uint64
}

// selfUsage is not measured off Linux.
func selfUsage() selfTimes { return selfTimes{} }
