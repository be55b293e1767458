package uring

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"iolab/models/uring/ring"
)

// Report is what `iolab probe` says about this machine's io_uring, and what
// an experiment records with its results: the kernel, whether io_uring is
// allowed, what it supports (asked, not guessed from the version), and the
// limits that decide how many rings and connections fit.
type Report struct {
	Kernel      string        `json:"kernel"`
	Arch        string        `json:"arch"`
	CPUs        int           `json:"cpus"`
	Enabled     bool          `json:"io_uring_enabled"`
	Sysctl      string        `json:"io_uring_disabled_sysctl,omitempty"`
	Why         string        `json:"why_not,omitempty"`
	Features    []string      `json:"features,omitempty"`
	Ops         []string      `json:"ops,omitempty"`
	Unsupported []string      `json:"unsupported_ops,omitempty"`
	SetupFlags  []SetupResult `json:"setup_flags,omitempty"`
	Memlock     Limit         `json:"rlimit_memlock"`
	NoFile      Limit         `json:"rlimit_nofile"`
}

// SetupResult is whether io_uring_setup took one combination of flags.
type SetupResult struct {
	Flags    string `json:"flags"`
	Accepted bool   `json:"accepted"`
	Error    string `json:"error,omitempty"`
}

// Limit is a resource limit, soft and hard ("unlimited" or a number).
type Limit struct {
	Soft string `json:"soft"`
	Hard string `json:"hard"`
}

// Probe asks the kernel.
func Probe() Report {
	r := Report{Arch: runtime.GOARCH, CPUs: runtime.NumCPU()}
	r.Kernel = kernelRelease()
	if b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); err == nil {
		r.Sysctl = strings.TrimSpace(string(b))
	}
	r.Memlock, r.NoFile = limits()
	if err := ring.Available(); err != nil {
		r.Why = err.Error()
		return r
	}
	r.Enabled = true
	rg, err := ring.Setup(4, &ring.Params{})
	if err != nil {
		r.Enabled, r.Why = false, err.Error()
		return r
	}
	defer rg.Close()
	for i, name := range ring.FeatureNames {
		if rg.Features()&(1<<i) != 0 {
			r.Features = append(r.Features, name)
		}
	}
	if p, err := rg.GetProbe(); err == nil {
		for op := 0; op <= int(p.LastOp) && op < len(ring.OpNames); op++ {
			if p.Supported(uint8(op)) {
				r.Ops = append(r.Ops, ring.OpNames[op])
			} else {
				r.Unsupported = append(r.Unsupported, ring.OpNames[op])
			}
		}
	}
	for _, t := range ring.TrySetupFlags() {
		s := SetupResult{Flags: t.Name, Accepted: t.Err == nil}
		if t.Err != nil {
			s.Error = t.Err.Error()
		}
		r.SetupFlags = append(r.SetupFlags, s)
	}
	return r
}

// WriteText writes the report for a person.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "kernel\t%s (%s, %d CPUs)\n", r.Kernel, r.Arch, r.CPUs)
	state := "enabled"
	if !r.Enabled {
		state = "NOT AVAILABLE: " + r.Why
	}
	if r.Sysctl != "" {
		state += " (kernel.io_uring_disabled=" + r.Sysctl + ")"
	}
	fmt.Fprintf(tw, "io_uring\t%s\n", state)
	if r.Enabled {
		fmt.Fprintf(tw, "features\t%s\n", strings.Join(r.Features, " "))
		fmt.Fprintf(tw, "opcodes\t%d supported: %s\n", len(r.Ops), strings.Join(r.Ops, " "))
		if len(r.Unsupported) > 0 {
			fmt.Fprintf(tw, "not supported\t%s\n", strings.Join(r.Unsupported, " "))
		}
		fmt.Fprintln(tw, "setup flags\t(each combination tried)")
		for _, s := range r.SetupFlags {
			verdict := "accepted"
			if !s.Accepted {
				verdict = "refused: " + s.Error
			}
			fmt.Fprintf(tw, "  %s\t%s\n", s.Flags, verdict)
		}
	}
	fmt.Fprintf(tw, "RLIMIT_MEMLOCK\tsoft %s, hard %s (buffer rings are locked memory: about 0.5 MB per ring)\n", r.Memlock.Soft, r.Memlock.Hard)
	fmt.Fprintf(tw, "RLIMIT_NOFILE\tsoft %s, hard %s (one descriptor per connection)\n", r.NoFile.Soft, r.NoFile.Hard)
	return tw.Flush()
}
