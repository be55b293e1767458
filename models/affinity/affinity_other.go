//go:build !linux

package affinity

import (
	"errors"
	"runtime"
)

// PinSelf is not available off Linux.
func PinSelf([]int) error { return errors.New("pinning to CPUs is Linux only") }

// Allowed lists every CPU: off Linux the affinity mask is not read.
func Allowed() ([]int, error) {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus, nil
}
