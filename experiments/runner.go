package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"iolab/models"
	"iolab/models/affinity"
	"iolab/results"
)

// Runner runs an experiment into a run directory.
type Runner struct {
	Spec *Spec
	Dir  *results.Dir
	// Iolab is the iolab binary a core row's server runs as (`iolab serve`).
	Iolab string
	// Out receives progress and messages.
	Out io.Writer
	// Bars draws progress bars (when Out is a terminal).
	Bars bool
	// Stop, once closed, stops the run after the cell in progress.
	Stop <-chan struct{}
	// Render makes the derived files (charts, report) at the end; nil
	// writes only results.csv and bench.txt.
	Render func(*results.Dir) error

	static map[string]string // a workload's made files' directory, by test
}

// staticDir makes the files a workload serves (static_files), once per
// run, in a temporary directory Run removes at its end.
func (r *Runner) staticDir(w Workload) (string, error) {
	if dir, ok := r.static[w.Test]; ok {
		return dir, nil
	}
	dir, err := os.MkdirTemp("", "iolab-static-")
	if err != nil {
		return "", err
	}
	for _, name := range sortedKeys(toStrings(w.StaticFiles)) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, fill(w.StaticFiles[name]), 0o644); err != nil {
			return "", err
		}
	}
	if r.static == nil {
		r.static = map[string]string{}
	}
	r.static[w.Test] = dir
	return dir, nil
}

func toStrings(m map[string]int64) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strconv.FormatInt(v, 10)
	}
	return out
}

// Run runs every cell the run directory does not hold yet: a new run does
// them all; a resumed one finishes what an interrupted one began. Each cell
// is appended, synced, as soon as it is done, so an interruption at any
// moment keeps every finished cell. It returns the number of cells run now.
func (r *Runner) Run(ctx context.Context) (int, error) {
	cells := r.Spec.Expand()
	have, err := r.Dir.Cells()
	if err != nil {
		return 0, err
	}
	done := map[string]bool{}
	for _, c := range have {
		done[doneKey(c.Key, c.Repeat)] = true
	}
	var todo []Planned
	for _, c := range cells {
		if !done[doneKey(c.Key, c.Repeat)] {
			todo = append(todo, c)
		}
	}
	l := newLaunch(r.Spec, r.Iolab)
	if r.Spec.LoaderCPUs != "" && l.kind == "" {
		// The load generator is this process: keep it on its CPUs.
		cpus, _ := ParseCPUList(r.Spec.LoaderCPUs)
		if err := affinity.PinSelf(cpus); err != nil {
			return 0, fmt.Errorf("cpus.loader: %w", err)
		}
	}
	prog := newProgress(r, len(cells), len(cells)-len(todo))
	defer prog.finish()
	defer func() {
		for _, dir := range r.static {
			os.RemoveAll(dir)
		}
	}()
	if len(todo) > 0 {
		err := l.prepare(ctx)
		// Deferred after prog.finish, so it runs first: the bars are
		// still there to say what went wrong.
		defer func() {
			if err := l.cleanup(); err != nil {
				prog.note("hosts: cleaning up: %v", err)
			}
		}()
		if err != nil {
			return 0, fmt.Errorf("hosts: %w", err)
		}
	}
	ran := 0
	for _, p := range todo {
		select {
		case <-r.Stop:
			prog.note("stopped: %d of %d cells done; `iolab run --resume %s` finishes the run", len(cells)-len(todo)+ran, len(cells), r.Dir.Path)
			return ran, r.finish()
		case <-ctx.Done():
			return ran, ctx.Err()
		default:
		}
		prog.start(p)
		c := r.runCell(ctx, p, l)
		if ctx.Err() != nil {
			return ran, ctx.Err() // cut short: not a measurement
		}
		if err := r.Dir.Append(&c); err != nil {
			return ran, err
		}
		ran++
		prog.done(c)
	}
	return ran, r.finish()
}

func doneKey(key string, repeat int) string { return fmt.Sprintf("%s#%d", key, repeat) }

// finish writes the derived files from the cells on disk.
func (r *Runner) finish() error {
	if r.Render != nil {
		return r.Render(r.Dir)
	}
	cells, err := r.Dir.Cells()
	if err != nil {
		return err
	}
	var csv, bench strings.Builder
	if err := results.WriteCSV(&csv, cells); err != nil {
		return err
	}
	if err := results.WriteBench(&bench, cells); err != nil {
		return err
	}
	return errors.Join(r.Dir.WriteFile(results.CSVFile, []byte(csv.String())),
		r.Dir.WriteFile(results.BenchFile, []byte(bench.String())))
}

// base is what a cell records whatever becomes of it.
func (r *Runner) base(p Planned) results.Cell {
	return results.Cell{
		Experiment: r.Spec.Name, Key: p.Key, Index: p.Index, Order: p.Order, Repeat: p.Repeat,
		Row: p.Row.Label, Model: p.Row.Model, App: p.App(), External: p.Row.Model == "", Peer: p.Row.Peer,
		Knobs: p.Knobs, Sweep: p.Sweep, Test: p.Workload.Test,
		Connections: p.Connections, Pipeline: p.Pipeline, Rate: p.Rate, Loader: r.Spec.Loader,
		Started: time.Now().UTC(),
	}
}

// runCell runs one cell: start its server, warm up and measure with the
// load generators while sampling the server at the edges of the measured
// window, stop the server. Whatever fails is recorded in the cell, and the
// run goes on.
func (r *Runner) runCell(ctx context.Context, p Planned, l *launch) results.Cell {
	c := r.base(p)
	fail := func(status, format string, a ...any) results.Cell {
		c.Status, c.Reason = status, fmt.Sprintf(format, a...)
		return c
	}
	if p.Row.Model != "" {
		m, _ := models.Lookup(p.Row.Model)
		if m.Available != nil && !l.server.remote {
			if err := m.Available(); err != nil {
				return fail(results.StatusSkipped, "%s is unavailable here: %v", m.Name, err)
			}
		}
	} else if missing := missingCommand(p.Row.Command); missing != "" {
		return fail(results.StatusSkipped, "%s is not installed (no %s in PATH)", p.Row.Label, missing)
	}
	srv, err := r.startServer(ctx, p, l)
	if err != nil {
		c.Stderr = ""
		if srv != nil {
			c.Stderr = srv.stderr.String()
		}
		return fail(results.StatusFailed, "server: %v", err)
	}
	defer srv.stop()

	var begin, end window
	sample := func(w *window) {
		w.at = time.Now()
		w.usage, w.stats, w.err = srv.sample()
	}
	// A drained cell is sampled before the load begins and after every
	// load generator has exited, with nothing in flight at either moment;
	// any other at its measured window's edges, as the load generators
	// report them.
	var onWindow func(begin bool)
	if p.Drained {
		sample(&begin)
	} else {
		onWindow = func(start bool) {
			if start {
				sample(&begin)
			} else {
				sample(&end)
			}
		}
	}
	var out *outcome
	if l.kind == "" {
		out, err = r.load(ctx, p, srv.addr, onWindow)
	} else {
		out, err = r.loadHosts(ctx, p, l, srv.port, onWindow)
	}
	var exitErr error
	if p.Drained && err == nil {
		end, exitErr = srv.final()
	} else {
		exitErr = srv.stop()
	}
	c.Stderr = srv.stderr.String()
	switch {
	case ctx.Err() != nil:
		return fail(results.StatusFailed, "interrupted")
	case err != nil:
		return fail(results.StatusFailed, "load: %v", err)
	case end.at.IsZero() || begin.at.IsZero():
		return fail(results.StatusFailed, "the measured window never began")
	case begin.err != nil || end.err != nil:
		return fail(results.StatusFailed, "sampling the server: %v", errors.Join(begin.err, end.err))
	case exitErr != nil && !srv.exitedByStop():
		return fail(results.StatusFailed, "the server died during the cell: %v", exitErr)
	}
	c.Stderr = ""
	out.fill(&c)
	c.Drained = p.Drained
	secs := end.at.Sub(begin.at).Seconds()
	cpu := (end.usage.cpu - begin.usage.cpu).Seconds()
	c.ServerCPUSeconds = cpu
	if secs > 0 {
		c.ServerUtilization = cpu / secs
	}
	// The server's CPU time is divided by the requests answered in the
	// span it covers: the loaders' count, when their window is that span.
	// Several load generators' windows are aligned only to within their
	// start-up skew, and the server is sampled where all of them overlap:
	// then its own count over that span is the one that matches.
	perReq := c.Requests
	if len(l.loaders) > 1 && !p.Drained && p.Row.Model != "" {
		perReq = end.stats.Get(models.Requests) - begin.stats.Get(models.Requests)
	}
	if perReq > 0 {
		c.ServerCPUUsPerReq = cpu * 1e6 / float64(perReq)
	}
	c.CtxSwitches = results.CtxSwitches{
		Voluntary:   end.usage.voluntary - begin.usage.voluntary,
		Involuntary: end.usage.involuntary - begin.usage.involuntary,
	}
	if p.Row.Model != "" {
		c.Counters = counterDelta(begin.stats, end.stats)
		var sys uint64
		for k := models.Counter(0); k < models.NumCounters; k++ {
			if k.Syscall() {
				sys += c.Counters[k.Name()]
			}
		}
		if served := c.Counters[models.Requests.Name()]; served > 0 {
			c.SyscallsPerReq = float64(sys) / float64(served)
		}
		if enters := c.Counters[models.SysIOUringEnter.Name()]; enters > 0 {
			c.CQEsPerEnter = float64(c.Counters[models.CQEs.Name()]) / float64(enters)
		}
	}
	c.Status = results.StatusOK
	if c.Requests == 0 {
		return fail(results.StatusFailed, "no request was answered in the measured window")
	}
	return c
}

// window is the server's state at one edge of the measured window.
type window struct {
	at    time.Time
	usage usage
	stats models.Stats
	err   error
}

// exitedByStop reports whether the server's exit was our SIGTERM's doing.
func (s *server) exitedByStop() bool {
	if s.waitErr == nil {
		return true
	}
	// An external server may report SIGTERM as its exit status.
	return strings.Contains(s.waitErr.Error(), "terminated") || strings.Contains(s.waitErr.Error(), "exit status 143")
}

// missingCommand returns the program of an external command when it is not
// in PATH (so the row is skipped, not failed).
func missingCommand(command string) string {
	f := strings.Fields(command)
	if len(f) == 0 {
		return "a command"
	}
	prog := f[0]
	for _, w := range f {
		if !strings.Contains(w, "=") { // skip VAR=value prefixes
			prog = w
			break
		}
	}
	if strings.ContainsRune(prog, '/') {
		if _, err := os.Stat(prog); err != nil {
			return prog
		}
		return ""
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(dir, prog)); err == nil && !st.IsDir() {
			return ""
		}
	}
	return prog
}
