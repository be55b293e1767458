package experiments

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"iolab/models/uring"
	"iolab/results"
)

// Environment records the machine and software a run runs on, once.
func Environment(spec *Spec, iolabVersion string, args []string) results.Env {
	e := results.Env{
		Started:    time.Now().UTC(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		CPUs:       runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		Iolab:      iolabVersion,
		Command:    args,
		ServerCPUs: spec.ServerCPUs,
		LoaderCPUs: spec.LoaderCPUs,
	}
	e.Hostname, _ = os.Hostname()
	probe := uring.Probe()
	e.Kernel = probe.Kernel
	if b, err := json.Marshal(probe); err == nil {
		e.IOURingProbe = b
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				e.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				e.MemoryBytes = kb << 10
			}
		}
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty", "--tags").Output(); err == nil {
		e.Git = strings.TrimSpace(string(out))
	}
	if spec.Hosts != nil {
		e.Hosts = spec.Hosts.String()
	}
	if spec.CPUQuota > 0 {
		e.CPUQuota = strconv.FormatFloat(spec.CPUQuota, 'f', -1, 64) + " CPU via " + QuotaSupport()
	}
	return e
}
