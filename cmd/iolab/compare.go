package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"iolab/results"
)

type compareOptions struct {
	alpha float64
}

func init() { commands = append(commands, newCompareCmd) }

func newCompareCmd() *cobra.Command {
	o := &compareOptions{}
	cmd := &cobra.Command{
		Use:   "compare OLD NEW",
		Short: "Compare two runs, benchstat-style: what changed and is it significant",
		Long: `Compare two run directories key by key (the same test, row and sweep point):
for requests/s, server and client CPU-µs per request and p99 latency, the
median of each run with its spread, and the change from OLD to NEW with its
p-value (Mann-Whitney U test), or "~" when the change is not significant at
--alpha. Keys in one run only are listed as removed or added.

Significance needs repeats: with fewer than 4 on each side no change can be
told from noise at 0.05, so run experiments with repeat: 5 or more when you
mean to compare them.`,
		Example: `  iolab compare results/demo-20250101-120000 results/demo-20250102-090000
  iolab compare --alpha 0.01 results/before results/after`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(args[0], args[1], cmd.OutOrStdout())
		},
	}
	cmd.Flags().Float64Var(&o.alpha, "alpha", 0.05, "significance level: a change with a larger p-value is shown as ~")
	return cmd
}

func (o *compareOptions) run(oldPath, newPath string, stdout io.Writer) error {
	if !(o.alpha > 0 && o.alpha < 1) {
		return usagef("--alpha %v: want a significance level between 0 and 1, such as 0.05", o.alpha)
	}
	var sides [2][]results.Cell
	for i, path := range []string{oldPath, newPath} {
		d, err := openRunDir(path)
		if err != nil {
			return err
		}
		if sides[i], err = d.Cells(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "old: %s (%s)\nnew: %s (%s)\n\n", oldPath, describeRun(sides[0]), newPath, describeRun(sides[1]))
	return results.Compare(stdout, sides[0], sides[1], o.alpha)
}

// describeRun says which experiment a run is and how much it holds.
func describeRun(cells []results.Cell) string {
	if len(cells) == 0 {
		return "no cells"
	}
	return fmt.Sprintf("experiment %s, %d cells", cells[0].Experiment, len(cells))
}
