package experiments

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux architecture Go runs on.
const clockTicks = 100

// groupUsage sums utime and stime (/proc/PID/stat) and the context switches
// of every thread (/proc/PID/task/TID/status) over the processes of process
// group pgid: an external server's workers count, as the server does.
func groupUsage(pgid int) usage {
	var u usage
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name, which ends at the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+2:]))
		if len(f) < 13 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g != pgid && pid != pgid {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		u.cpu += time.Duration(ut+st) * time.Second / clockTicks
		tasks, _ := filepath.Glob("/proc/" + p.Name() + "/task/*/status")
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
					n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
					u.voluntary += n
				} else if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
					n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
					u.involuntary += n
				}
			}
		}
	}
	return u
}

// selfTimes is a process's CPU time and context switches so far.
type selfTimes struct {
	user, system           time.Duration
	voluntary, involuntary uint64
}

// selfUsage is this process's (getrusage RUSAGE_SELF: every thread, live or
// exited, to the microsecond rather than /proc's clock tick).
func selfUsage() selfTimes {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return selfTimes{}
	}
	return selfTimes{user: time.Duration(ru.Utime.Nano()), system: time.Duration(ru.Stime.Nano()),
		voluntary: uint64(ru.Nvcsw), involuntary: uint64(ru.Nivcsw)}
}
