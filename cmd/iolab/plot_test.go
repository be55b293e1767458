package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"iolab/results"
)

// writeTestRun makes a run directory with repeats of two rows at two
// connection counts; rps gives each row's requests/s per repeat.
func writeTestRun(t *testing.T, rps map[string][]float64) string {
	t.Helper()
	d := &results.Dir{Path: t.TempDir()}
	index := 0
	for _, conns := range []int{64, 256} {
		for _, row := range []string{"epoll", "uring"} {
			sweep := map[string]string{"connections": strconv.Itoa(conns)}
			for rep, v := range rps[row] {
				c := results.Cell{Experiment: "demo", Key: results.MakeKey(row, sweep), Index: index, Repeat: rep + 1,
					Row: row, Model: row, Sweep: sweep, Test: "plaintext", Connections: conns, Pipeline: 1,
					Status: results.StatusOK, Seconds: 1, Requests: uint64(v), RPS: v * float64(conns) / 256,
					ServerCPUUsPerReq: 1, ClientCPUUsPerReq: 0.5, Latency: results.Latency{P50: 100, P99: 800, Max: 2000}}
				if err := d.Append(&c); err != nil {
					t.Fatal(err)
				}
			}
			index++
		}
	}
	os.WriteFile(d.File(results.ExperimentFile), []byte("name: demo\n"), 0o644)
	return d.Path
}

func TestPlotCmd(t *testing.T) {
	dir := writeTestRun(t, map[string][]float64{"epoll": {600e3, 610e3}, "uring": {700e3, 705e3}})
	var out, errOut bytes.Buffer
	if code := run([]string{"plot", dir}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != filepath.Join(dir, results.ReportFile) {
		t.Fatalf("first line %q: want the report's path", lines[0])
	}
	for _, want := range []string{"rank-plaintext-c256-p1.png", "rank-plaintext-c256-p1.svg", "rps-by-conns-plaintext-p1.png", "results.csv", "bench.txt"} {
		if !strings.Contains(out.String(), filepath.Join(dir, want)+"\n") {
			t.Errorf("output does not list %s:\n%s", want, out.String())
		}
	}
	for _, l := range lines {
		if _, err := os.Stat(l); err != nil {
			t.Errorf("listed but not written: %v", err)
		}
	}
}

// TestPlotErrors: a DIR that is not a run directory is one line and a
// usage exit status.
func TestPlotCmdErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cells.jsonl")
	os.WriteFile(file, []byte("{}\n"), 0o644)
	empty := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"plot", filepath.Join(empty, "nope")}, "no such directory"},
		{[]string{"plot", empty}, "is not a run directory: it has no cells.jsonl, experiment.yaml or env.json"},
		{[]string{"plot", file}, "is not a run directory but a file"},
		{[]string{"plot"}, "accepts 1 arg"},
	}
	for _, c := range cases {
		var errOut bytes.Buffer
		code := run(c.args, io.Discard, &errOut)
		msg := errOut.String()
		if code != exitUsage || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, msg, exitUsage, c.want)
		}
	}
	// A run that has not finished a cell is a run directory with nothing
	// measured yet, not an error.
	os.WriteFile(filepath.Join(empty, results.ExperimentFile), []byte("name: fresh\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"plot", empty}, &out, &errOut); code != exitOK || !strings.Contains(out.String(), results.ReportFile) {
		t.Errorf("fresh run: exit %d, %q %q", code, out.String(), errOut.String())
	}
	// A cells.jsonl broken in the middle is an error naming the line.
	broken := writeTestRun(t, map[string][]float64{"epoll": {1}})
	os.WriteFile(filepath.Join(broken, results.CellsFile), []byte("{oops\n{}\n"), 0o644)
	errOut.Reset()
	if code := run([]string{"plot", broken}, io.Discard, &errOut); code != exitError || !strings.Contains(errOut.String(), "cells.jsonl:1") {
		t.Errorf("broken cells: exit %d, %q", code, errOut.String())
	}
}
