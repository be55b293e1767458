package results

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sampleCells() []Cell {
	mk := func(order, index, repeat int, row string, conns int, rps, srv float64) Cell {
		sweep := map[string]string{"connections": strconv.Itoa(conns)}
		return Cell{Experiment: "demo", Key: MakeKey(row, sweep), Index: index, Order: order, Repeat: repeat,
			Row: row, Model: row, Sweep: sweep, Test: "plaintext", Connections: conns, Pipeline: 16,
			Loader: "builtin", Status: StatusOK, Started: time.Unix(1700000000, 0).UTC(), Seconds: 2,
			Requests: uint64(rps * 2), RPS: rps, Latency: Latency{P50: 100, P99: 900, Max: 2000},
			ServerCPUUsPerReq: srv, ClientCPUUsPerReq: 0.5, Counters: map[string]uint64{"requests": uint64(rps * 2)}}
	}
	return []Cell{
		mk(0, 0, 1, "epoll", 256, 1e6, 0.7), mk(1, 1, 1, "uring", 256, 1.1e6, 0.6),
		mk(2, 0, 2, "epoll", 256, 1.2e6, 0.8), mk(3, 1, 2, "uring", 256, 1.3e6, 0.5),
		{Experiment: "demo", Key: MakeKey("nginx", nil), Index: 2, Order: 4, Repeat: 1, Row: "nginx", External: true,
			Test: "plaintext", Status: StatusFailed, Reason: "did not start", Stderr: "nginx: not found"},
	}
}

func TestAppendAndRead(t *testing.T) {
	d, err := Create(t.TempDir(), "demo", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d.Path, "demo-20231114-221320") {
		t.Fatalf("path %s", d.Path)
	}
	cells := sampleCells()
	for i := range cells {
		if err := d.Append(&cells[i]); err != nil {
			t.Fatal(err)
		}
	}
	// A crash in the middle of a line: the line is ignored, the rest kept.
	f, _ := os.OpenFile(d.File(CellsFile), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"experiment":"demo","key":"row=x","ind`)
	f.Close()
	if _, err := Open(d.Path); err != nil {
		t.Fatal(err)
	}
	got, err := d.Cells()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cells) || got[3].RPS != cells[3].RPS || got[4].Stderr != "nginx: not found" {
		t.Fatalf("read back %d cells: %+v", len(got), got)
	}
	// A bad line that is not the last is an error that names it.
	os.WriteFile(d.File(CellsFile), []byte("{bad\n{\"key\":\"k\"}\n"), 0o644)
	if _, err := d.Cells(); err == nil || !strings.Contains(err.Error(), "cells.jsonl:1") {
		t.Fatalf("bad line: %v", err)
	}
	if err := d.Append(&Cell{Key: "k", Row: "r", Repeat: 0, Status: StatusOK}); err == nil {
		t.Fatal("a cell without a repeat was appended")
	}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sampleCells()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows", len(rows))
	}
	head := strings.Join(rows[0], ",")
	for _, col := range []string{"server_cpu_us_per_req", "sweep:connections", "counter:requests", "p99_us"} {
		if !strings.Contains(head, col) {
			t.Errorf("no column %s", col)
		}
	}
}

func TestBench(t *testing.T) {
	var b bytes.Buffer
	if err := WriteBench(&b, sampleCells()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[2], "BenchmarkPlaintext/row=epoll/connections=256\t2000000\t") ||
		!strings.Contains(lines[2], "server-us/req") {
		t.Fatalf("bench.txt:\n%s", b.String())
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(sampleCells())
	if len(s) != 3 || s[0].Row != "epoll" || s[0].Repeats != 2 || s[2].Row != "nginx" {
		t.Fatalf("%+v", s)
	}
	med, lo, hi := s[0].Median(func(c *Cell) float64 { return c.RPS })
	if med != 1.1e6 || lo != 1e6 || hi != 1.2e6 {
		t.Fatalf("median %v %v %v", med, lo, hi)
	}
	if m, _, _ := s[2].Median(func(c *Cell) float64 { return c.RPS }); m == m {
		t.Fatal("a failed cell has a median")
	}
}

// TestCreateAt: a run directory at a fixed place is made when missing,
// refuses to mix with a run already there, and with replace removes that
// run's files and nothing else.
func TestCreateAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reference", "sqpoll")
	d, err := CreateAt(path, false)
	if err != nil || d.Path != path {
		t.Fatalf("new directory: %v, %+v", err, d)
	}
	old := sampleCells()[0]
	if err := d.Append(&old); err != nil {
		t.Fatal(err)
	}
	run := []string{ExperimentFile, EnvFile, CSVFile, BenchFile, ReportFile, "rank-plaintext-c256-p16.png",
		"heat-cpu-plaintext-c256-p16-uring-a-x-b.svg", ".results.csv.123456", ".cqes-plaintext-c256-p1.png.42"}
	kept := []string{"NOTES.md", "rank-notes.txt", "my-chart.png", ".git", ".hidden.txt"}
	for _, name := range append(append([]string(nil), run...), kept...) {
		if err := os.WriteFile(d.File(name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := CreateAt(path, false); err == nil || !strings.Contains(err.Error(), "--resume "+path) || !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("a run already there: %v", err)
	}
	if cells, _ := d.Cells(); len(cells) != 1 {
		t.Fatalf("refusing changed the run: %d cells", len(cells))
	}
	if _, err := CreateAt(path, true); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(run, CellsFile) {
		if _, err := os.Stat(d.File(name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of the old run is still there (%v)", name, err)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(d.File(name)); err != nil {
			t.Errorf("%s is not the run's, but went: %v", name, err)
		}
	}
	// What is left holds no run: it is used as it is.
	if _, err := CreateAt(path, false); err != nil {
		t.Errorf("a directory with other files only: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := CreateAt(file, true); err == nil {
		t.Error("a file taken for a run directory")
	}
}
