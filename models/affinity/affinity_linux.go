package affinity

import (
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// PinSelf confines this whole process to cpus: every thread it has now (the
// Go runtime has started several) and, since new threads inherit the mask of
// the thread that makes them, every thread it makes later. It also sizes the
// Go scheduler to them, unless GOMAXPROCS was set by hand: two Ps on one CPU
// would let the kernel time-slice a busy loop thread against the runtime's
// other work, and that shows as stalls of a scheduler period (tens of ms) in
// a load generator's p99.
func PinSelf(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
			return os.NewSyscallError("sched_setaffinity", err)
		}
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(set.Count())
	}
	return nil
}

// Allowed lists the CPUs this process may run on.
func Allowed() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for c := 0; c < 1024; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
