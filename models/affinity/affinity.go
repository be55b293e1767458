// Package affinity pins a process to CPUs: the way an experiment keeps the
// server and the load generator off each other's CPUs.
package affinity

// Count is how many CPUs this process may use now: the default number of
// loops, workers and threads. Unlike runtime.NumCPU, which is read once at
// start, it sees a PinSelf made since.
func Count() int {
	cpus, err := Allowed()
	if err != nil || len(cpus) == 0 {
		return 1
	}
	return len(cpus)
}
