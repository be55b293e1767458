package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// cgroup is a CPU-quota group a cell's server runs in: the way to make the
// server, not the load generator, the bottleneck on a small machine. It
// works with cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us), whichever has the
// cpu controller here.
type cgroup struct {
	dir   string
	procs string // the file a process joins by writing its pid
	how   string
}

var cgroupSeq atomic.Int64

const cfsPeriod = 100_000 // µs

// newCgroup makes a group limited to quota CPUs' worth of time.
func newCgroup(quota float64) (*cgroup, error) {
	name := fmt.Sprintf("iolab-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	limit := strconv.Itoa(int(quota * cfsPeriod))
	if root, ok := cgroup2CPU(); ok {
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, quotaError(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(limit+" "+strconv.Itoa(cfsPeriod)), 0o644); err != nil {
			os.Remove(dir)
			return nil, quotaError(err)
		}
		return &cgroup{dir: dir, procs: filepath.Join(dir, "cgroup.procs"), how: "cgroup v2 cpu.max " + limit + "/" + strconv.Itoa(cfsPeriod)}, nil
	}
	root := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err != nil {
		return nil, errors.New("no cgroup cpu controller found (neither v2 cpu.max nor v1 cpu.cfs_quota_us)")
	}
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, quotaError(err)
	}
	for file, v := range map[string]string{"cpu.cfs_period_us": strconv.Itoa(cfsPeriod), "cpu.cfs_quota_us": limit} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644); err != nil {
			os.Remove(dir)
			return nil, quotaError(err)
		}
	}
	return &cgroup{dir: dir, procs: filepath.Join(dir, "cgroup.procs"), how: "cgroup v1 cpu.cfs_quota_us " + limit + "/" + strconv.Itoa(cfsPeriod)}, nil
}

// cgroup2CPU finds a cgroup v2 hierarchy with the cpu controller enabled.
func cgroup2CPU() (string, bool) {
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		b, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if err == nil && strings.Contains(" "+string(b)+" ", " cpu ") {
			return root, true
		}
	}
	return "", false
}

func quotaError(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: setting a CPU quota needs root (or a delegated cgroup)", err)
	}
	return err
}

// remove deletes the group once its processes are gone.
func (c *cgroup) remove() {
	if c != nil {
		os.Remove(c.dir)
	}
}

// QuotaSupport says how a CPU quota would be applied here, or why not.
func QuotaSupport() string {
	cg, err := newCgroup(0.5)
	if err != nil {
		return "unavailable: " + err.Error()
	}
	defer cg.remove()
	return cg.how
}
