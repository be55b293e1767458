package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"iolab/experiments"
	"iolab/models"
	"iolab/models/affinity"
	"iolab/models/app"
)

type serveOptions struct {
	model     string
	app       string
	addr      string
	knobs     []string
	statsJSON string
	drain     time.Duration
	cpus      string
	control   bool
	stdin     io.Reader // --control reads it
	staticDir string
}

func init() { commands = append(commands, newServeCmd) }

func newServeCmd() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve HTTP/1.1 with one core until SIGINT or SIGTERM",
		Long: `Serve HTTP/1.1 on --addr with the I/O core --model and the application --app,
until SIGINT or SIGTERM. Then stop gracefully: close the listener, finish the
responses already begun, close every connection (within --drain-timeout), and
print the core's counters; --stats-json also writes them as JSON. SIGUSR1
writes the counters to --stats-json at once and serves on.

--control is how 'iolab run' drives a server on any host (here, in a network
namespace, or over ssh): each line "stats" read on stdin is answered on stdout
with one line of JSON, the counters with the process's own CPU time and
context switches; the end of stdin stops the server as SIGTERM does, so a
server whose runner is gone stops too. A last line, "final": true, is written
as it exits, and the summary goes to stderr.

Knobs tune the core: --knob NAME=VALUE, repeatable, with the names and values
'iolab models' lists. Apps: ` + strings.Join(app.Names(), ", ") + `.`,
		Example: `  iolab serve --model netstd --app bench --addr 127.0.0.1:8080
  iolab serve --model netstd --app echo --knob idle_timeout=5s --knob read_buffer=64KiB
  iolab serve --addr 127.0.0.1:0 --stats-json stats.json   # any free port; counters to a file
  echo stats | iolab serve --addr 127.0.0.1:0 --control   # one sample of the counters, then stop
  iolab serve --model epoll --app nethttp:bench --knob handler=offload   # net/http handlers on epoll, off the loop
  iolab serve --model uring --app static --static-dir ./public --knob zerocopy=on`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			snap := make(chan os.Signal, 1)
			signal.Notify(snap, syscall.SIGUSR1)
			defer signal.Stop(snap)
			o.stdin = cmd.InOrStdin()
			return o.run(ctx, snap, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.model, "model", "netstd", "I/O core (see 'iolab models')")
	f.StringVar(&o.app, "app", app.Default, "application: "+strings.Join(app.Names(), ", "))
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (port 0: any free port)")
	f.StringArrayVar(&o.knobs, "knob", nil, "core tunable NAME=VALUE (repeatable)")
	f.StringVar(&o.statsJSON, "stats-json", "", "write the counters as JSON to this file when stopped")
	f.DurationVar(&o.drain, "drain-timeout", 10*time.Second, "how long a graceful stop may take")
	f.StringVar(&o.cpus, "cpus", "", "pin the server to these CPUs (like 0 or 0-1), every thread of it")
	f.BoolVar(&o.control, "control", false, `answer each "stats" line on stdin with the counters as JSON on stdout; stop at the end of stdin`)
	f.StringVar(&o.staticDir, "static-dir", "", "the directory --app static (or nethttp:static) serves")
	return cmd
}

// run serves until ctx ends; each value on snapshot writes the counters to
// --stats-json.
func (o *serveOptions) run(ctx context.Context, snapshot <-chan os.Signal, stdout, stderr io.Writer) error {
	a, err := app.Build(o.app, app.Options{StaticDir: o.staticDir})
	if err != nil {
		return usageError{err}
	}
	m, err := models.Lookup(o.model)
	if err != nil {
		return usageError{err}
	}
	cfg, err := models.NewConfig(m, a, o.knobs)
	if err != nil {
		return usageError{err}
	}
	if o.drain <= 0 {
		return usagef("--drain-timeout must be positive")
	}
	if o.statsJSON != "" {
		// Fail now rather than after a long run.
		if err := checkWritable(o.statsJSON); err != nil {
			return usagef("--stats-json: %v", err)
		}
	}
	if o.cpus != "" {
		cpus, err := experiments.ParseCPUList(o.cpus)
		if err != nil {
			return usagef("--cpus %q: %v", o.cpus, err)
		}
		// Before the core starts its threads, so they inherit the mask.
		if err := affinity.PinSelf(cpus); err != nil {
			return fmt.Errorf("--cpus %s: %w", o.cpus, err)
		}
	}
	core, err := models.Start(o.model, a, o.addr, o.knobs)
	if err != nil {
		return err
	}
	began, seq := time.Now(), 0
	fmt.Fprintf(stderr, "iolab: serving %s with %s on %s (pid %d, %s)%s\n",
		a.Name, m.Name, core.Addr(), os.Getpid(), raiseOpenFiles(), changedKnobs(m, cfg))

	report := func(final bool) error {
		if o.statsJSON == "" {
			return nil
		}
		seq++
		return writeJSON(o.statsJSON, models.Report{Model: m.Name, App: a.Name, Addr: core.Addr().String(),
			Knobs: cfg.Knobs.Map(), Started: began, Stopped: time.Now(), Stats: core.Stats(), Seq: seq, Final: final})
	}
	// With --control, stdout carries the samples alone.
	var asks <-chan struct{}
	samples, summary := json.NewEncoder(stdout), stdout
	ctlSeq := 0
	if o.control {
		asks = readControl(o.stdin)
		summary = stderr
	}
wait:
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stderr, "iolab: stopping")
			break wait
		case <-core.Done():
			break wait
		case <-snapshot:
			if err := report(false); err != nil {
				fmt.Fprintln(stderr, "iolab: --stats-json:", err)
			}
		case _, ok := <-asks:
			if !ok {
				fmt.Fprintln(stderr, "iolab: stopping: end of the control input")
				break wait
			}
			ctlSeq++
			if err := samples.Encode(experiments.SampleSelf(ctlSeq, core.Stats())); err != nil {
				return fmt.Errorf("--control: %w", err)
			}
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	stopErr := core.Stop(stopCtx)
	ended := time.Now()
	st := core.Stats()
	if o.control {
		last := experiments.SampleSelf(ctlSeq+1, st)
		last.Final = true
		if err := samples.Encode(last); err != nil {
			return fmt.Errorf("--control: %w", err)
		}
	}
	fmt.Fprintf(summary, "iolab: %s served %d requests in %v\n", m.Name, st.Get(models.Requests), ended.Sub(began).Round(time.Millisecond))
	if err := st.WriteText(summary); err != nil {
		return err
	}
	if err := report(true); err != nil {
		return err
	}
	if err := core.Err(); err != nil {
		return fmt.Errorf("%s failed: %w", m.Name, err)
	}
	if stopErr != nil {
		return fmt.Errorf("connections still open after --drain-timeout %v were closed", o.drain)
	}
	return nil
}

// readControl reads --control's input: a value on the channel for each line
// "stats"; the channel closes at the end of the input. Other lines are
// ignored, so that a person typing at it can do no harm.
func readControl(r io.Reader) <-chan struct{} {
	asks := make(chan struct{})
	go func() {
		defer close(asks)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == experiments.ControlStats {
				asks <- struct{}{}
			}
		}
	}()
	return asks
}

// changedKnobs lists the knobs set away from their defaults.
func changedKnobs(m models.Model, cfg models.Config) string {
	defaults, _ := models.ParseKnobs(m.AllKnobs(), nil)
	def, now := defaults.Map(), cfg.Knobs.Map()
	var diff []string
	for k, v := range now {
		if def[k] != v {
			diff = append(diff, k+"="+v)
		}
	}
	if len(diff) == 0 {
		return ""
	}
	sort.Strings(diff)
	return "; knobs: " + strings.Join(diff, " ")
}

// raiseOpenFiles raises RLIMIT_NOFILE's soft limit to the hard limit, so a
// core can hold as many connections as the system lets this process, and
// says what the limit is. (The Go runtime already raises it at start on
// Linux; doing it here too keeps that true wherever iolab runs.)
func raiseOpenFiles() string {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "open files limit unknown"
	}
	if l.Cur < l.Max {
		was := l.Cur
		l.Cur = l.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
			return fmt.Sprintf("open files limit raised from %d to %d", was, l.Max)
		}
		l.Cur = was
	}
	return fmt.Sprintf("open files limit %d", l.Cur)
}

func checkWritable(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".iolab-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// writeJSON writes v to path atomically: a reader never sees half a file.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".iolab-*.json")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	err = errors.Join(err, tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
