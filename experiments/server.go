package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"iolab/models"
)

// server is the child process a cell measures: `iolab serve --control` for
// a core row, on the launch's server host; the row's command for an
// external one, here. It runs in its own process group, so that an external
// server's workers are measured and stopped with it, always by process id,
// and so that a Ctrl-C at the terminal reaches the runner alone.
type server struct {
	cmd     *exec.Cmd
	host    host
	addr    string // host:port, as the runner reaches it (reachable launches)
	port    string // the port it listens on
	pid     int    // its pid on its host, from its banner (cores)
	control io.WriteCloser
	samples chan sampleReply
	stderr  *tailBuffer
	exited  chan struct{}
	cgroup  *cgroup
	lastSeq int
	waitErr error
	stopped sync.Once
}

// ServerSample is what `iolab serve --control` writes, as one line of JSON
// on stdout, for each line ControlStats it reads on stdin: the core's
// counters and the serving process's own CPU time and context switches,
// taken together. It is how the runner samples a server at the edges of a
// measured window on any host, through a pipe here, `ip netns exec` or ssh
// alike, without its pid or its files.
type ServerSample struct {
	Seq           int          `json:"seq"`
	Stats         models.Stats `json:"stats"`
	UserSeconds   float64      `json:"user_seconds"`
	SystemSeconds float64      `json:"system_seconds"`
	Voluntary     uint64       `json:"voluntary_ctx_switches"`
	Involuntary   uint64       `json:"involuntary_ctx_switches"`
	// Final marks the sample a server writes as it exits, once every loop
	// has stopped and published its counters.
	Final bool `json:"final,omitempty"`
}

// ControlStats is the line that asks `iolab serve --control` for a
// ServerSample. The end of its input stops it, as SIGTERM does: a server
// whose runner is gone (killed, or its ssh connection lost) stops too. It
// writes a Final sample as it exits.
const ControlStats = "stats"

// SampleSelf is a ServerSample of this process: its counters are stats,
// its CPU time and context switches its own (getrusage: every thread, live
// or gone).
func SampleSelf(seq int, stats models.Stats) ServerSample {
	u := selfUsage()
	return ServerSample{Seq: seq, Stats: stats, UserSeconds: u.user.Seconds(), SystemSeconds: u.system.Seconds(),
		Voluntary: u.voluntary, Involuntary: u.involuntary}
}

type sampleReply struct {
	ServerSample
	err error
}

// startTimeout bounds how long a server may take to answer.
const startTimeout = 15 * time.Second

// bannerRE finds the address and pid in `iolab serve`'s first line.
var bannerRE = regexp.MustCompile(`serving \S+ with \S+ on (\S+) \(pid (\d+)`)

// startServer starts the cell's server on the launch's server host and
// waits until it listens (and, where the runner can reach it, answers).
func (r *Runner) startServer(ctx context.Context, p Planned, l *launch) (*server, error) {
	s := &server{host: l.server, stderr: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	var argv []string
	var port int
	core := p.Row.Model != ""
	if core {
		argv = serveArgs(p, l)
		if len(p.Workload.StaticFiles) > 0 {
			if l.server.remote {
				return nil, errors.New("static_files: the files are made on this machine, where a server on another host cannot read them")
			}
			dir, err := r.staticDir(p.Workload)
			if err != nil {
				return nil, fmt.Errorf("static_files: %w", err)
			}
			argv = append(argv, "--static-dir", dir)
		}
	} else {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
		argv = []string{"/bin/sh", "-c", strings.ReplaceAll(p.Row.Command, "{port}", strconv.Itoa(port))}
	}
	argv, err := r.wrap(argv, s)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd.Stdout = io.Discard
	if core {
		if s.control, err = s.cmd.StdinPipe(); err != nil {
			return nil, err
		}
		// A writer rather than a pipe: Wait returns only once the
		// server's last words (its Final sample) have been read.
		s.samples = make(chan sampleReply, 8)
		s.cmd.Stdout = &lineWriter{line: s.reply}
	}
	// The same for stderr: a server that dies at once leaves its last
	// words in the cell. WaitDelay bounds the wait when a process the
	// server started keeps a pipe open.
	banner := make(chan []string, 1)
	s.cmd.Stderr = &lineWriter{line: func(b []byte) {
		line := string(b)
		s.stderr.WriteLine(line)
		if m := bannerRE.FindStringSubmatch(line); m != nil {
			select {
			case banner <- m:
			default:
			}
		}
	}}
	s.cmd.WaitDelay = 2 * time.Second
	if err := s.cmd.Start(); err != nil {
		s.cgroup.remove()
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	if core {
		select {
		case m := <-banner:
			_, s.port, _ = net.SplitHostPort(m[1])
			s.pid, _ = strconv.Atoi(m[2])
		case <-s.exited:
			return s, fmt.Errorf("the server exited before it listened (%v)", s.waitErr)
		case <-deadline.C:
			s.stop()
			return s, fmt.Errorf("the server did not start within %v", startTimeout)
		case <-ctx.Done():
			s.stop()
			return s, ctx.Err()
		}
	} else {
		s.port = strconv.Itoa(port)
	}
	if !l.reachable {
		// A core listens once it has printed its banner; the load
		// generators, not the runner, are the ones that can reach it.
		return s, nil
	}
	s.addr = net.JoinHostPort("127.0.0.1", s.port)
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
			return s, fmt.Errorf("the server exited before it answered %s (%v)", ready, s.waitErr)
		case <-deadline.C:
			tick.Stop()
			s.stop()
			return s, fmt.Errorf("the server did not answer %s within %v", ready, startTimeout)
		case <-ctx.Done():
			tick.Stop()
			s.stop()
			return s, ctx.Err()
		}
	}
}

// serveArgs is a core row's server: `iolab serve --control` on the launch's
// listening address, with the cell's knobs.
func serveArgs(p Planned, l *launch) []string {
	argv := []string{l.server.iolab, "serve", "--model", p.Row.Model, "--app", p.App(),
		"--addr", l.listen, "--control", "--drain-timeout", "5s"}
	for _, kv := range p.Row.settings(sweptKnobs(p)) {
		argv = append(argv, "--knob", kv)
	}
	return argv
}

// pinned is argv on cpus (taskset), on h.
func pinned(argv []string, cpus string, h host) []string {
	if cpus != "" {
		argv = append([]string{"taskset", "-c", cpus}, argv...)
	}
	return h.command(argv)
}

// wrap makes argv the command that runs the server: on the server's CPUs
// (taskset), on its host, and in its cgroup (for the CPU quota). The cgroup
// is joined outermost, by a shell that then becomes the rest: `ip netns
// exec` mounts a /sys of its own, where the cgroup is out of sight.
func (r *Runner) wrap(argv []string, s *server) ([]string, error) {
	if r.Spec.ServerCPUs != "" && !s.host.remote {
		if _, err := exec.LookPath("taskset"); err != nil {
			return nil, errors.New("cpus.server needs taskset (Debian package util-linux)")
		}
	}
	argv = pinned(argv, r.Spec.ServerCPUs, s.host)
	if r.Spec.CPUQuota <= 0 {
		return argv, nil
	}
	cg, err := newCgroup(r.Spec.CPUQuota)
	if err != nil {
		return nil, fmt.Errorf("server_cpu_quota: %w", err)
	}
	s.cgroup = cg
	return []string{"/bin/sh", "-c", "echo $$ > " + shellQuote(cg.procs) + " || exit 97; exec " + shellJoin(argv)}, nil
}

// reply takes one line of the server's stdout: its answer to ControlStats.
func (s *server) reply(line []byte) {
	var r sampleReply
	if err := json.Unmarshal(line, &r.ServerSample); err != nil {
		r.err = fmt.Errorf("the server answered %.80q: %v", line, err)
	}
	select {
	case s.samples <- r:
	default: // more than was asked for: not an answer of ours
	}
}

// lineWriter hands each line written to it, without its newline, to line.
type lineWriter struct {
	buf  []byte
	line func([]byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 1<<20 {
		w.buf = w.buf[:0] // no line is this long: not ours
	}
	return len(p), nil
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

// usage is CPU time and context switches so far.
type usage struct {
	cpu         time.Duration
	voluntary   uint64
	involuntary uint64
}

// sampleTimeout bounds how long a server may take to answer ControlStats.
const sampleTimeout = 5 * time.Second

// sample reads the server's CPU time, context switches and counters at
// this moment: a core's from its answer to ControlStats; an external
// server's from /proc, over its process group, without counters.
func (s *server) sample() (usage, models.Stats, error) {
	if s.control == nil {
		return groupUsage(s.cmd.Process.Pid), models.Stats{}, nil
	}
	if _, err := io.WriteString(s.control, ControlStats+"\n"); err != nil {
		return usage{}, models.Stats{}, fmt.Errorf("asking the server for its counters: %w", err)
	}
	t := time.NewTimer(sampleTimeout)
	defer t.Stop()
	select {
	case r := <-s.samples:
		return s.take(r)
	case <-s.exited:
		return usage{}, models.Stats{}, fmt.Errorf("the server exited (%v)", s.waitErr)
	case <-t.C:
		return usage{}, models.Stats{}, fmt.Errorf("the server did not answer for its counters within %v", sampleTimeout)
	}
}

// take checks a sample the server answered and turns it into ours.
func (s *server) take(r sampleReply) (usage, models.Stats, error) {
	switch {
	case r.err != nil:
		return usage{}, models.Stats{}, r.err
	case r.Seq <= s.lastSeq:
		return usage{}, models.Stats{}, fmt.Errorf("the server answered sample %d after %d", r.Seq, s.lastSeq)
	}
	s.lastSeq = r.Seq
	cpu := time.Duration((r.UserSeconds + r.SystemSeconds) * float64(time.Second))
	return usage{cpu: cpu, voluntary: r.Voluntary, involuntary: r.Involuntary}, r.Stats, nil
}

// final samples the server for the last time and stops it. A core is
// sampled as it exits: once every loop has stopped, every counter is
// published, so a request answered is a request counted. It returns the
// sample and how the server ended.
func (s *server) final() (window, error) {
	if s.control == nil { // an external server: its processes, before they go
		w := window{at: time.Now()}
		w.usage, w.stats, w.err = s.sample()
		return w, s.stop()
	}
	exitErr := s.stop()
	w := window{at: time.Now()}
	for {
		select {
		case r := <-s.samples:
			if !r.Final && r.err == nil {
				continue // a late answer to an earlier ask
			}
			w.usage, w.stats, w.err = s.take(r)
			return w, exitErr
		default:
			w.err = fmt.Errorf("the server exited without its final counters (%v)", exitErr)
			return w, exitErr
		}
	}
}

// stop stops the server gracefully, then by force if it has not exited
// after 10 s, and reports how it ended. It is safe to call twice. Here, a
// SIGTERM to its process group; on another machine, the end of its stdin
// (which `iolab serve --control` takes as SIGTERM), then a kill of its pid
// there and of the ssh here.
func (s *server) stop() error {
	s.stopped.Do(func() {
		if s.host.remote {
			s.control.Close()
		} else {
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		}
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			if s.host.remote && s.pid > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				runStep(ctx, s.host.command([]string{"kill", "-KILL", strconv.Itoa(s.pid)}))
				cancel()
			}
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
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
