package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"iolab/results"
)

func init() { commands = append(commands, newPlotCmd) }

func newPlotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plot DIR",
		Short: "Make a run's charts, tables and report.html again from its data",
		Long: `Read a run directory's cells.jsonl, env.json and experiment.yaml and write,
from them alone, results.csv, bench.txt (Go benchmark format, for benchstat),
every chart as PNG and SVG, and report.html: one page with the tables, the
charts, the failures with the server's stderr, the environment and the
experiment file, that opens from disk with no network. Running it again gives
the same files; charts the data no longer calls for are removed.`,
		Example: `  iolab plot results/demo-20250101-120000
  iolab plot results/demo-20250101-120000 && xdg-open results/demo-20250101-120000/report.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runPlot(args[0], cmd.OutOrStdout()) },
	}
}

func runPlot(path string, stdout io.Writer) error {
	d, err := openRunDir(path)
	if err != nil {
		return err
	}
	files, err := results.RenderFiles(d)
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	return err
}

// openRunDir opens a run directory for reading, or says in one line why
// path is not one. A run that has not finished a cell yet has no
// cells.jsonl but does have its experiment file or env.json: it is a run
// directory too, with nothing measured.
func openRunDir(path string) (*results.Dir, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, usagef("%s: no such directory; give a directory an experiment run wrote (results/NAME-TIMESTAMP)", path)
	case err != nil:
		return nil, usagef("%s is not a run directory: %v", path, err)
	case !st.IsDir():
		return nil, usagef("%s is not a run directory but a file; give the directory that holds %s", path, results.CellsFile)
	}
	if d, err := results.Open(path); err == nil {
		return d, nil
	}
	for _, name := range []string{results.ExperimentFile, results.EnvFile} {
		if _, err := os.Stat(filepath.Join(path, name)); err == nil {
			return &results.Dir{Path: path}, nil
		}
	}
	return nil, usagef("%s is not a run directory: it has no %s, %s or %s; give a directory an experiment run wrote (results/NAME-TIMESTAMP)",
		path, results.CellsFile, results.ExperimentFile, results.EnvFile)
}
