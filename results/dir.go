package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names in a run directory.
const (
	ExperimentFile = "experiment.yaml"
	EnvFile        = "env.json"
	CellsFile      = "cells.jsonl"
	CSVFile        = "results.csv"
	BenchFile      = "bench.txt"
	ReportFile     = "report.html"
)

// Env is the machine and software a run ran on, recorded once per run.
type Env struct {
	Started      time.Time       `json:"started"`
	Hostname     string          `json:"hostname"`
	Kernel       string          `json:"kernel"`
	OS           string          `json:"os"`
	Arch         string          `json:"arch"`
	CPUModel     string          `json:"cpu_model"`
	CPUs         int             `json:"cpus"`
	MemoryBytes  uint64          `json:"memory_bytes"`
	GoVersion    string          `json:"go_version"`
	Iolab        string          `json:"iolab_version"`
	Git          string          `json:"git_describe,omitempty"`
	Command      []string        `json:"command,omitempty"`
	ServerCPUs   string          `json:"server_cpus,omitempty"`
	LoaderCPUs   string          `json:"loader_cpus,omitempty"`
	CPUQuota     string          `json:"cpu_quota,omitempty"` // how server_cpu_quota was applied (cgroup v2, v1, or why not)
	Hosts        string          `json:"hosts,omitempty"`     // where the server and load generators ran, when not all here`
	IOURingProbe json.RawMessage `json:"io_uring_probe,omitempty"`
}

// Dir is a run directory.
type Dir struct {
	Path string
}

// Create makes results/<name>-<timestamp> under root.
func Create(root, name string, now time.Time) (*Dir, error) {
	path := filepath.Join(root, name+"-"+now.UTC().Format("20060102-150405"))
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	return &Dir{Path: path}, nil
}

// CreateAt makes path the run directory itself, rather than one named by
// the time under a root: for runs whose place must not change from one to
// the next (results/reference/<experiment>, which lessons link into).
//
// A directory that holds no run's files is used as it is (made when
// missing). One that holds a run is refused, since two runs' cells must
// not mix, unless replace is set: then that run's files are removed first
// (its record, its derived files, its charts) and nothing else in the
// directory is touched.
func CreateAt(path string, replace bool) (*Dir, error) {
	entries, err := os.ReadDir(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, err
		}
		return &Dir{Path: path}, nil
	}
	if err != nil {
		return nil, err
	}
	var run []string
	for _, e := range entries {
		if !e.IsDir() && isRunFile(e.Name()) {
			run = append(run, e.Name())
		}
	}
	if len(run) > 0 && !replace {
		return nil, fmt.Errorf("%s holds a run already (%s): finish it with --resume %s, or replace it with --replace", path, run[0], path)
	}
	for _, name := range run {
		if err := os.Remove(filepath.Join(path, name)); err != nil {
			return nil, fmt.Errorf("replacing the run in %s: %w", path, err)
		}
	}
	return &Dir{Path: path}, nil
}

// runFiles are the files a run writes besides its charts.
var runFiles = []string{ExperimentFile, EnvFile, CellsFile, CSVFile, BenchFile, ReportFile}

// isRunFile reports a file a run writes: its record, its derived files, a
// chart, or what an interrupted WriteFile left of one (.NAME.random).
func isRunFile(name string) bool {
	if strings.HasPrefix(name, ".") {
		i := strings.LastIndexByte(name, '.')
		if i == 0 {
			return false
		}
		name = name[1:i]
	}
	return slices.Contains(runFiles, name) || isChartFile(name)
}

// isChartFile reports the PNG or SVG of a chart (by its kind's prefix).
func isChartFile(name string) bool {
	if !strings.HasSuffix(name, ".png") && !strings.HasSuffix(name, ".svg") {
		return false
	}
	for _, p := range chartPrefixes {
		if strings.HasPrefix(name, p+"-") {
			return true
		}
	}
	return false
}

// Open opens an existing run directory.
func Open(path string) (*Dir, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a run directory", path)
	}
	if _, err := os.Stat(filepath.Join(path, CellsFile)); err != nil {
		return nil, fmt.Errorf("%s is not a run directory: no %s", path, CellsFile)
	}
	return &Dir{Path: path}, nil
}

// File is the path of a file in the directory.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// WriteFile writes a file of the directory atomically: a reader sees the
// old file or the new one, never half of it.
func (d *Dir) WriteFile(name string, data []byte) error {
	tmp, err := os.CreateTemp(d.Path, "."+name+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	// CreateTemp makes the file private; results are for sharing.
	err = errors.Join(err, tmp.Chmod(0o644), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), d.File(name))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// WriteJSON writes v as indented JSON, atomically.
func (d *Dir) WriteJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return d.WriteFile(name, append(b, '\n'))
}

// Append adds a cell to cells.jsonl and syncs it to disk before returning:
// a run killed at any moment keeps every cell that finished.
func (d *Dir) Append(c *Cell) error {
	if err := c.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(d.File(CellsFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Sync(), f.Close())
}

// Cells reads cells.jsonl. A last line cut short by a crash is ignored; any
// other bad line is an error naming it.
func (d *Dir) Cells() ([]Cell, error) {
	b, err := os.ReadFile(d.File(CellsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ReadCells(bytes.NewReader(b), d.File(CellsFile))
}

// ReadCells reads cells in the cells.jsonl format from r (name is for
// errors).
func ReadCells(r io.Reader, name string) ([]Cell, error) {
	var cells []Cell
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var pending error
	for line := 1; sc.Scan(); line++ {
		if pending != nil {
			return nil, pending // a bad line that was not the last
		}
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var c Cell
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			pending = fmt.Errorf("%s:%d: %v", name, line, err)
			continue
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		cells = append(cells, c)
	}
	return cells, sc.Err()
}

// Env reads env.json.
func (d *Dir) Env() (Env, error) {
	var e Env
	b, err := os.ReadFile(d.File(EnvFile))
	if err != nil {
		return e, err
	}
	err = json.Unmarshal(b, &e)
	return e, err
}
