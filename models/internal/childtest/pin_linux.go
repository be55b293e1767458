package childtest

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pin confines the whole process to one CPU: every thread it has now (the Go
// runtime has started a few), and, by inheritance, every thread they start.
func pin(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return err
		}
	}
	return nil
}
