// Package childtest runs a server core in a child process made from the
// test binary itself, for tests that need the server apart from the client:
// its own descriptor limit, its own CPU time and memory to measure, its own
// CPU to be pinned to. A test package calls Main from TestMain; Start then
// re-executes the binary, which serves instead of testing.
package childtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"iolab/models"
	"iolab/models/affinity"
	_ "iolab/models/all"
	"iolab/models/app"
	"iolab/models/uring/uringtest"
)

const envSpec = "IOLAB_CHILDTEST_SPEC"

// Spec says what the child serves and under which limits.
type Spec struct {
	Model string   `json:"model"`
	App   string   `json:"app"`
	Knobs []string `json:"knobs"`
	// NoFile, when not 0, sets the child's RLIMIT_NOFILE soft limit: lower,
	// to run it out of descriptors, or higher, up to the hard limit (and
	// past it where the process may raise that: CAP_SYS_RESOURCE; else the
	// child fails to start, saying so).
	NoFile uint64 `json:"nofile"`
	// Drain bounds the graceful stop after SIGTERM (default 10 s).
	Drain time.Duration `json:"drain"`
	// Pin pins the child to CPU.
	Pin bool `json:"pin"`
	CPU int  `json:"cpu"`
	// DenyIOURing makes io_uring_setup fail in the child (a seccomp
	// filter), to test how a core behaves where io_uring is refused.
	DenyIOURing bool `json:"deny_io_uring"`
	// Report is where the child writes its models.Report when stopped.
	Report string `json:"report"`
}

// Main runs the tests, or, in a child, serves until SIGTERM.
func Main(m *testing.M) {
	if spec := os.Getenv(envSpec); spec != "" {
		if err := serve(spec); err != nil {
			fmt.Fprintln(os.Stderr, "childtest:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serve(specJSON string) error {
	var s Spec
	if err := json.Unmarshal([]byte(specJSON), &s); err != nil {
		return err
	}
	if s.Pin {
		if err := affinity.PinSelf([]int{s.CPU}); err != nil {
			return err
		}
	}
	if s.DenyIOURing {
		if err := uringtest.DenyIOURing(); err != nil {
			return err
		}
	}
	if s.NoFile > 0 {
		var l syscall.Rlimit
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
		was := l
		l.Cur, l.Max = s.NoFile, max(l.Max, s.NoFile)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			err = fmt.Errorf("setrlimit RLIMIT_NOFILE %d (hard limit %d): %w", s.NoFile, was.Max, err)
			fmt.Printf("ERR %v\n", err)
			return err
		}
	}
	a, err := app.Lookup(s.App)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	began := time.Now()
	core, err := models.Start(s.Model, a, "127.0.0.1:0", s.Knobs)
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		return err
	}
	fmt.Printf("ADDR %s\n", core.Addr())
	select {
	case <-ctx.Done():
	case <-core.Done():
	}
	if s.Drain <= 0 {
		s.Drain = 10 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.Drain)
	defer cancel()
	err = core.Stop(sctx)
	rep := models.Report{Model: s.Model, App: s.App, Addr: core.Addr().String(), Started: began, Stopped: time.Now(), Stats: core.Stats()}
	b, _ := json.Marshal(rep)
	if werr := os.WriteFile(s.Report, b, 0o644); werr != nil {
		return werr
	}
	if cerr := core.Err(); cerr != nil {
		return cerr
	}
	return err
}

// Child is a running server child.
type Child struct {
	Addr string
	Pid  int
	cmd  *exec.Cmd
	spec Spec
	t    testing.TB
}

// Start starts a child serving model with app and knobs. cpu -1 leaves it
// unpinned; nofile 0 leaves its descriptor limit alone. The child is stopped
// at the end of the test if the test has not stopped it.
func Start(t testing.TB, model, appName string, knobs []string, cpu int, nofile uint64) *Child {
	t.Helper()
	c, err := StartSpec(t, Spec{Model: model, App: appName, Knobs: knobs, Pin: cpu >= 0, CPU: cpu, NoFile: nofile})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// StartSpec starts a child as spec says and returns it, or the error with
// which it failed to start (what models.Start said in the child).
func StartSpec(t testing.TB, spec Spec) (*Child, error) {
	t.Helper()
	spec.Report = filepath.Join(t.TempDir(), "report.json")
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envSpec+"="+string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{Pid: cmd.Process.Pid, cmd: cmd, spec: spec, t: t}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill() // by pid
			c.cmd.Wait()
		}
	})
	lines := bufio.NewScanner(out)
	started := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if line := lines.Text(); strings.HasPrefix(line, "ADDR ") || strings.HasPrefix(line, "ERR ") {
				started <- line
			}
		}
		close(started)
	}()
	select {
	case line, ok := <-started:
		if a, isAddr := strings.CutPrefix(line, "ADDR "); isAddr {
			c.Addr = a
			return c, nil
		}
		c.cmd.Wait()
		if !ok {
			return nil, fmt.Errorf("the server child exited: %v", c.cmd.ProcessState)
		}
		return nil, errors.New(strings.TrimPrefix(line, "ERR "))
	case <-time.After(10 * time.Second):
		t.Fatal("the server child did not start")
	}
	return nil, nil
}

// Stop sends SIGTERM, waits for the child to exit (within 15 s) and returns
// the report it wrote.
func (c *Child) Stop() models.Report {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	rep, err := c.Wait(15 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return rep
}

// Signal sends sig to the child, by its pid.
func (c *Child) Signal(sig os.Signal) error { return c.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the child to exit, and returns the report it
// wrote on the way out. The error says how it failed to: not in time, an
// exit status other than 0 (the child's stderr, shared with the test's,
// says why), or no report.
func (c *Child) Wait(timeout time.Duration) (models.Report, error) {
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	var rep models.Report
	select {
	case err := <-done:
		if err != nil {
			return rep, fmt.Errorf("server child: %w", err)
		}
	case <-time.After(timeout):
		return rep, fmt.Errorf("the server child did not exit within %v", timeout)
	}
	b, err := os.ReadFile(c.spec.Report)
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	return rep, err
}

// CPU is the child's user and system CPU time so far (all its threads).
func (c *Child) CPU() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid) + "/stat")
	if err != nil {
		c.t.Fatal(err)
	}
	// Fields after the command name, which ends at the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is USER_HZ, which is 100 on every Linux architecture Go runs on.
const clockTicks = 100

// RSS is the child's resident set size in bytes.
func (c *Child) RSS() int64 { return c.status("VmRSS") }

// PeakRSS is the most the child's resident set has been, in bytes (VmHWM):
// what a test reads before and after opening connections to say what each
// one cost at its peak, which a later RSS may no longer show.
func (c *Child) PeakRSS() int64 { return c.status("VmHWM") }

// status reads a size field of /proc/PID/status, in bytes.
func (c *Child) status(field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.Pid) + "/status")
	if err != nil {
		c.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	c.t.Fatal("no " + field + " in /proc/PID/status")
	return 0
}

// FDs is how many descriptors the child has open now.
func (c *Child) FDs() int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(c.Pid) + "/fd")
	if err != nil {
		c.t.Fatal(err)
	}
	return len(ents)
}

// StartCore starts model in this process on 127.0.0.1:0 with the app
// appName and knobs, and stops it when t ends.
func StartCore(t testing.TB, model, appName string, knobs ...string) models.Core {
	t.Helper()
	a, err := app.Lookup(appName)
	if err != nil {
		t.Fatal(err)
	}
	return StartApp(t, model, a, knobs...)
}

// StartApp is StartCore with the app itself.
func StartApp(t testing.TB, model string, a app.App, knobs ...string) models.Core {
	t.Helper()
	core, err := models.Start(model, a, "127.0.0.1:0", knobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		core.Stop(ctx)
	})
	return core
}
