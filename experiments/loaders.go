package experiments

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"iolab/loadgen"
	"iolab/models/affinity"
	"iolab/results"
)

// The lines `iolab load` writes on stderr as its measured window begins and
// ends: how the runner hears of a load generator's window on another host,
// to sample the server then.
const (
	WindowBeginsLine = "iolab: measured window begins"
	WindowEndsLine   = "iolab: measured window ends"
)

// loaderEvent is what one load generator's process says, in order: its
// window's edges as they happen, then its result when it has exited.
type loaderEvent struct {
	i     int
	begin bool // a window edge: begins (true) or ends (false)
	at    time.Time
	done  bool // it exited, with res or err
	res   *loadgen.Result
	err   error
}

// loadHosts runs the cell's load from every load generator of the launch at
// once, each an `iolab load --json` on its host with its share of the
// connections, the rate and the count, and merges their results (counts
// and errors summed, percentiles from the merged histograms, rates added).
// onWindow, when not nil, is called as the last of them begins its
// measured window and as the first ends it: the span in which every one of
// them loads the server, where the server is sampled.
func (r *Runner) loadHosts(ctx context.Context, p Planned, l *launch, port string, onWindow func(begin bool)) (*outcome, error) {
	n := len(l.loaders)
	events := make(chan loaderEvent, 3*n)
	// One load generator's failure fails the cell: the others are told to
	// stop rather than left to finish a measurement nobody will keep.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, h := range l.loaders {
		argv := pinned(r.loadArgs(p, i, n, h, l.target(i, port)), r.Spec.LoaderCPUs, h)
		if err := startLoader(ctx, i, argv, events); err != nil {
			return nil, fmt.Errorf("load generator %d (%s): %w", i+1, h.name, err)
		}
	}
	res := make([]*loadgen.Result, n)
	var failed []error
	var begun int
	var first, last time.Time
	open, closed := false, false
	var early string
	for left := n; left > 0; {
		e := <-events
		switch {
		case e.done:
			left--
			if e.err != nil {
				failed = append(failed, fmt.Errorf("load generator %d (%s): %w", e.i+1, l.loaders[e.i].name, e.err))
				cancel()
			}
			res[e.i] = e.res
		case e.begin:
			if begun++; begun == 1 {
				first = e.at
			}
			last = e.at
			if begun == n && early == "" && onWindow != nil {
				onWindow(true)
				open = true
			}
		case !open && early == "":
			early = l.loaders[e.i].name
		case open && !closed:
			onWindow(false)
			closed = true
		}
	}
	if len(failed) > 0 {
		return nil, failed[0]
	}
	if early != "" && onWindow != nil {
		return nil, fmt.Errorf("%s ended its measured window before every load generator had begun its own, so the server could not be sampled while all of them loaded it: give a longer warmup", early)
	}
	merged, err := loadgen.Merge(res...)
	if err != nil {
		return nil, err
	}
	o := outcomeOf(merged)
	o.hosts = &results.Hosts{Launcher: l.kind, Server: l.server.name, WindowSkewSeconds: last.Sub(first).Seconds()}
	if !l.server.remote {
		cpus := len(mustCPUs(r.Spec.LoaderCPUs))
		if cpus == 0 {
			cpus = affinity.Count()
		}
		o.saturated = fillsCPUs(merged, cpus)
	}
	for i, x := range res {
		// One saturated client may be the limit, however idle the others.
		o.saturated = o.saturated || x.CPU.Saturated
		o.hosts.Loaders = append(o.hosts.Loaders, results.LoaderShare{Host: l.loaders[i].name, Connections: x.Connections,
			Requests: x.Requests, RPS: x.RPS, Errors: x.Errors.Total(), P50: x.Latency.P50, P99: x.Latency.P99,
			ClientCPUUsPerReq: x.CPU.PerRequestUs, ClientSaturated: x.CPU.Saturated})
	}
	return o, nil
}

// fillsCPUs reports whether load generators that share cpus CPUs (those of
// one machine) kept them more than 90% busy: each of them may look half
// idle while together they fill them, and then the client is the limit.
func fillsCPUs(merged *loadgen.Result, cpus int) bool {
	busy := merged.CPU.UserSeconds + merged.CPU.SystemSeconds
	return merged.Seconds > 0 && cpus > 0 && busy/(merged.Seconds*float64(cpus)) > 0.9
}

// startLoader starts one load generator's process, which reports on
// events. It runs in a process group of its own, so that a Ctrl-C at the
// terminal reaches the runner alone (which decides whether the cell
// finishes); when ctx ends it gets SIGTERM and prints what it measured.
func startLoader(ctx context.Context, i int, argv []string, events chan<- loaderEvent) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		tail := &tailBuffer{max: 4 << 10}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			switch line := sc.Text(); line {
			case WindowBeginsLine, WindowEndsLine:
				events <- loaderEvent{i: i, begin: line == WindowBeginsLine, at: time.Now()}
			default:
				tail.WriteLine(line)
			}
		}
		e := loaderEvent{i: i, done: true}
		if err := cmd.Wait(); err != nil {
			e.err = fmt.Errorf("%v: %s", err, lastLines(tail.String(), 3))
		} else {
			e.res = &loadgen.Result{}
			if err := json.Unmarshal(stdout.Bytes(), e.res); err != nil {
				e.err = fmt.Errorf("its output is not iolab load's JSON (%v): %.200q %s", err, stdout.String(), lastLines(tail.String(), 3))
			}
		}
		events <- e
	}()
	return nil
}

// loadArgs is the `iolab load` command line of load generator i of n, on
// h (before its CPUs and host wrap it), against target (host:port): its share of the cell's connections, rate
// and count, and the cell's workload. Values go as --flag=value, so that
// one beginning with '-' is never read as a flag.
func (r *Runner) loadArgs(p Planned, i, n int, h host, target string) []string {
	w := p.Workload
	conns := share(int64(p.Connections), i, n)
	a := []string{h.iolab, "load", "--json", "--connections=" + strconv.FormatInt(conns, 10),
		"--pipeline=" + strconv.Itoa(p.Pipeline), "--duration=" + r.Spec.Duration.String()}
	if r.Spec.Threads > 0 {
		a = append(a, "--threads="+strconv.Itoa(r.Spec.Threads))
	}
	if p.Rate > 0 {
		a = append(a, "--rate="+strconv.FormatFloat(p.Rate*float64(conns)/float64(p.Connections), 'f', -1, 64))
	}
	if p.Count > 0 {
		a = append(a, "--requests="+strconv.FormatInt(share(p.Count, i, n), 10))
	}
	if r.Spec.Warmup > 0 {
		a = append(a, "--warmup="+r.Spec.Warmup.String())
	}
	if p.RequestsPerConn > 0 {
		a = append(a, "--requests-per-conn="+strconv.Itoa(p.RequestsPerConn))
	}
	if w.TechEmpowerHeaders {
		a = append(a, "--techempower-headers")
	}
	a = append(a, "--method="+w.Method, "--expect-status="+strconv.Itoa(w.ExpectStatus))
	for _, hd := range w.Headers {
		a = append(a, "--header="+hd)
	}
	if w.Body != "" {
		a = append(a, "--body="+w.Body)
	}
	if w.ExpectBody != "" {
		a = append(a, "--expect-body="+w.ExpectBody)
	}
	if len(w.Paths) > 1 {
		for _, path := range w.Paths {
			a = append(a, "--path="+path)
		}
	}
	return append(a, "http://"+target+w.Paths[0])
}

// share is load generator i's part of total among n: an equal share, and
// one more for the first total%n.
func share(total int64, i, n int) int64 {
	s := total / int64(n)
	if int64(i) < total%int64(n) {
		s++
	}
	return s
}
