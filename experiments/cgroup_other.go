//go:build !linux

package experiments

import "errors"

type cgroup struct{ procs string }

func newCgroup(float64) (*cgroup, error) { return nil, errors.New("CPU quotas need Linux cgroups") }

func (c *cgroup) remove() {}

// QuotaSupport says how a CPU quota would be applied here, or why not.
func QuotaSupport() string { return "unavailable: CPU quotas need Linux cgroups" }
