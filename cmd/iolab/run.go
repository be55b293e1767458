package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"iolab/experiments"
	"iolab/results"
)

type runOptions struct {
	dryRun  bool
	resume  string
	results string
	dir     string
	replace bool
	quiet   bool
}

func init() { commands = append(commands, newRunCmd) }

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run FILE | run --resume DIR",
		Short: "Run an experiment: the matrix of cores, loads and knobs in FILE",
		Long: `Run the experiment FILE (see experiments/*.yaml): expand its matrix, run each cell
with the server in a child process on its own CPUs and the load generator on
the others, and write everything under results/<name>-<timestamp>/: the
experiment file, env.json, cells.jsonl (appended and synced after each cell),
results.csv, bench.txt, the charts and report.html.

Rows alternate and repeats interleave (A B A B ...), because the machine
drifts. A row that cannot run here (io_uring refused, a tool not installed)
is recorded as skipped, with the reason; a server that fails is recorded as a
failed cell with its stderr, and the run goes on.

With hosts: in the file, the server and one or more load generators run
elsewhere: in network namespaces the run makes and removes (launcher netns,
as root), or on other machines over ssh (launcher ssh); each load generator
is 'iolab load --json' there, and their results are merged into each cell.
--dry-run prints the hosts and every command the run begins with.

Ctrl-C stops after the cell in progress and keeps every finished cell; a
second Ctrl-C abandons that cell too. --resume DIR finishes such a run.

--dir DIR writes the run into DIR itself, for a run that must always be in
the same place (make reference writes results/reference/<name>/, which the
lessons link into). DIR may not hold a run already, unless --replace is
given: then that run's files go first, and nothing else in DIR is touched.`,
		Example: `  iolab run experiments/demo.yaml
  iolab run --dry-run experiments/plaintext.yaml     # the cells, their order, the time they take
  iolab run experiments/netns.yaml                   # server and load generators in network namespaces (root)
  iolab run --resume results/demo-20261121-101500
  iolab run --dir results/reference/sqpoll --replace experiments/sqpoll.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.resume != "" && len(args) > 0:
				return usagef("give an experiment FILE or --resume DIR, not both")
			case o.resume == "" && len(args) != 1:
				return usagef("give the experiment file to run, like experiments/demo.yaml")
			case o.dir != "" && o.resume != "":
				return usagef("--dir names where a new run goes; --resume DIR finishes one: give one of them")
			case o.dir != "" && cmd.Flags().Changed("results"):
				return usagef("--dir is the run directory itself, --results the directory new runs are made under: give one of them")
			case o.replace && o.dir == "":
				return usagef("--replace replaces the run in --dir DIR; give --dir too")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return o.run(cmd.Context(), file, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.dryRun, "dry-run", false, "print the cells in the order they would run, and the time they would take")
	f.StringVar(&o.resume, "resume", "", "finish the interrupted run in this results directory")
	f.StringVar(&o.results, "results", "results", "where run directories are made")
	f.StringVar(&o.dir, "dir", "", "make the run in exactly this directory, instead of RESULTS/NAME-TIMESTAMP")
	f.BoolVar(&o.replace, "replace", false, "with --dir: replace the run already in DIR (its files only)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bars, one line per cell")
	return cmd
}

func (o *runOptions) run(ctx context.Context, file string, stdout io.Writer) error {
	var dir *results.Dir
	if o.resume != "" {
		d, err := results.Open(o.resume)
		if err != nil {
			return usagef("--resume: %v", err)
		}
		dir, file = d, d.File(results.ExperimentFile)
	}
	spec, err := experiments.LoadFile(file)
	if err != nil {
		return usageError{err}
	}
	if o.dryRun {
		return spec.WritePlan(stdout, spec.Expand())
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if dir == nil {
		if o.dir != "" {
			dir, err = results.CreateAt(o.dir, o.replace)
		} else {
			dir, err = results.Create(o.results, spec.Name, time.Now())
		}
		if err != nil {
			return err
		}
		if err := dir.WriteFile(results.ExperimentFile, spec.Source); err != nil {
			return err
		}
		if err := dir.WriteJSON(results.EnvFile, experiments.Environment(spec, version, os.Args)); err != nil {
			return err
		}
		// An empty cells file marks the directory as a run from the start.
		if err := dir.WriteFile(results.CellsFile, nil); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "iolab: running %s into %s\n", spec.Name, dir.Path)

	// The first Ctrl-C stops after the cell in progress; the second
	// abandons it.
	stop := make(chan struct{})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			fmt.Fprintln(stdout, "iolab: stopping after this cell (Ctrl-C again to abandon it)")
			close(stop)
		case <-ctx.Done():
			return
		}
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()

	r := &experiments.Runner{Spec: spec, Dir: dir, Iolab: self, Out: stdout, Stop: stop,
		Bars: !o.quiet && isTerminal(stdout), Render: results.Render}
	_, err = r.Run(ctx)
	stopped := false
	select {
	case <-stop:
		stopped = true
	default:
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	cells, cerr := dir.Cells()
	if cerr != nil {
		return cerr
	}
	failed := 0
	for _, c := range cells {
		if c.Status == results.StatusFailed {
			failed++
		}
	}
	fmt.Fprintf(stdout, "iolab: %d cells in %s", len(cells), dir.Path)
	if failed > 0 {
		fmt.Fprintf(stdout, " (%d failed: see report.html)", failed)
	}
	fmt.Fprintln(stdout)
	if _, err := os.Stat(dir.File(results.ReportFile)); err == nil {
		fmt.Fprintf(stdout, "iolab: report: %s\n", filepath.Join(dir.Path, results.ReportFile))
	}
	if stopped || errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped before the end; finish with: iolab run --resume %s", dir.Path)
	}
	return nil
}
