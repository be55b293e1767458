package experiments

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"iolab/models"
)

// server is the child process a cell measures: `iolab serve` for a core
// row, the row's command for an external one. It runs in its own process
// group, so that an external server's workers are measured and stopped with
// it, always by process id.
type server struct {
	cmd      *exec.Cmd
	addr     string // host:port it listens on
	stats    string // --stats-json file (cores only)
	stderr   *tailBuffer
	exited   chan struct{}
	cgroup   *cgroup
	lastSeq  int
	waitErr  error
	waitOnce sync.Once
}

// startTimeout bounds how long a server may take to answer.
const startTimeout = 15 * time.Second

// bannerRE finds the address in `iolab serve`'s first line.
var bannerRE = regexp.MustCompile(`serving \S+ with \S+ on (\S+) \(pid`)

// startServer starts the cell's server and waits until it answers.
func (r *Runner) startServer(ctx context.Context, p Planned, dir string) (*server, error) {
	s := &server{stderr: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	var argv []string
	var port int
	if p.Row.Model != "" {
		s.stats = filepath.Join(dir, "server-stats.json")
		argv = append(argv, r.Iolab, "serve", "--model", p.Row.Model, "--app", p.App(),
			"--addr", "127.0.0.1:0", "--stats-json", s.stats, "--drain-timeout", "5s")
		if len(p.Workload.StaticFiles) > 0 {
			dir, err := r.staticDir(p.Workload)
			if err != nil {
				return nil, fmt.Errorf("static_files: %w", err)
			}
			argv = append(argv, "--static-dir", dir)
		}
		for _, kv := range p.Row.settings(sweptKnobs(p)) {
			argv = append(argv, "--knob", kv)
		}
	} else {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
		argv = []string{"/bin/sh", "-c", strings.ReplaceAll(p.Row.Command, "{port}", strconv.Itoa(port))}
	}
	// A small launcher puts the server in its cgroup and on its CPUs
	// before it starts, so that no thread of it runs outside them.
	launch, err := r.launcher(argv, s)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(launch[0], launch[1:]...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd.Stdout = io.Discard
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		s.cgroup.remove()
		return nil, err
	}
	banner := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.stderr.WriteLine(line)
			if m := bannerRE.FindStringSubmatch(line); m != nil {
				select {
				case banner <- m[1]:
				default:
				}
			}
		}
	}()
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	if p.Row.Model != "" {
		select {
		case s.addr = <-banner:
		case <-s.exited:
			return nil, fmt.Errorf("the server exited before it listened (%v)", s.waitErr)
		case <-deadline.C:
			s.stop()
			return nil, errors.New("the server did not start within 15s")
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		}
	}
	if s.addr == "" {
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	ready := readyURL(p, s.addr, port)
	for tick := time.NewTicker(50 * time.Millisecond); ; {
		if answers(ready) {
			tick.Stop()
			return s, nil
		}
		select {
		case <-tick.C:
		case <-s.exited:
			tick.Stop()
			return nil, fmt.Errorf("the server exited before it answered %s (%v)", ready, s.waitErr)
		case <-deadline.C:
			tick.Stop()
			s.stop()
			return nil, fmt.Errorf("the server did not answer %s within 15s", ready)
		case <-ctx.Done():
			tick.Stop()
			s.stop()
			return nil, ctx.Err()
		}
	}
}

// launcher wraps argv so that the process joins its cgroup (for the CPU
// quota) and its CPU set, then becomes argv.
func (r *Runner) launcher(argv []string, s *server) ([]string, error) {
	script := ""
	if r.Spec.CPUQuota > 0 {
		cg, err := newCgroup(r.Spec.CPUQuota)
		if err != nil {
			return nil, fmt.Errorf("server_cpu_quota: %w", err)
		}
		s.cgroup = cg
		script += "echo $$ > " + shellQuote(cg.procs) + " || exit 97; "
	}
	if r.Spec.ServerCPUs != "" {
		if _, err := exec.LookPath("taskset"); err != nil {
			return nil, errors.New("cpus.server needs taskset (Debian package util-linux)")
		}
		argv = append([]string{"taskset", "-c", r.Spec.ServerCPUs}, argv...)
	}
	if script == "" {
		return argv, nil
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = shellQuote(a)
	}
	return []string{"/bin/sh", "-c", script + "exec " + strings.Join(quoted, " ")}, nil
}

func readyURL(p Planned, addr string, port int) string {
	if p.Row.Model == "" {
		return strings.ReplaceAll(p.Row.Ready, "{port}", strconv.Itoa(port))
	}
	return "http://" + addr + "/"
}

// answers reports whether an HTTP GET of url gets any response at all.
func answers(url string) bool {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get(url)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// alive reports whether the server is still running.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// usage is the CPU time and context switches of every process in the
// server's process group so far.
type usage struct {
	cpu          time.Duration
	voluntary    uint64
	involuntary  uint64
	processCount int
}

func (s *server) usage() usage {
	return groupUsage(s.cmd.Process.Pid)
}

// snapshot asks a core for its counters (SIGUSR1) and returns them once the
// report has been written.
func (s *server) snapshot() (models.Stats, error) {
	if s.stats == "" {
		return models.Stats{}, nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return models.Stats{}, err
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		var rep models.Report
		if b, err := os.ReadFile(s.stats); err == nil && json.Unmarshal(b, &rep) == nil && rep.Seq > s.lastSeq {
			s.lastSeq = rep.Seq
			return rep.Stats, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return models.Stats{}, errors.New("the server wrote no counters within 3s of SIGUSR1")
}

// stop sends SIGTERM to the process group, then SIGKILL if it has not
// exited after 10 s, and reports how it ended. It is safe to call twice.
func (s *server) stop() error {
	s.waitOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.exited
		}
		s.cgroup.remove()
	})
	return s.waitErr
}

// tailBuffer keeps the last max bytes of a stream of lines.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) WriteLine(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, line...)
	t.b = append(t.b, '\n')
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,@%+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sweptKnobs are the knobs the sweep sets in this cell.
func sweptKnobs(p Planned) map[string]string {
	out := map[string]string{}
	for k, v := range p.Sweep {
		if !loadParams[k] && k != "test" {
			out[k] = v
		}
	}
	return out
}

// counterDelta is b - a for every counter, by name.
func counterDelta(a, b models.Stats) map[string]uint64 {
	out := map[string]uint64{}
	for c := models.Counter(0); c < models.NumCounters; c++ {
		if d := b.Get(c) - a.Get(c); d > 0 && b.Get(c) >= a.Get(c) {
			out[c.Name()] = d
		}
	}
	return out
}
