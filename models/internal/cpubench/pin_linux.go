package cpubench

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinSelf confines this process's threads to one CPU.
func pinSelf(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			unix.SchedSetaffinity(tid, &set)
		}
	}
	return nil
}
