// Package results is the record of an experiment run and everything made
// from it: one Cell per measured point (cells.jsonl, appended with an fsync
// after each so a crash loses at most the cell in progress), the run's
// environment (env.json), the same data as CSV and as Go benchmark lines
// (so `benchstat -col /model bench.txt` works), the charts, and a
// self-contained report.html. Everything but the cells is derived: `iolab
// plot DIR` makes it again from the data alone.
//
// A run directory holds:
//
//	experiment.yaml  the experiment file, as run
//	env.json         the machine and software it ran on
//	cells.jsonl      one Cell per line, in the order they ran
//	results.csv      one row per cell
//	bench.txt        Go benchmark format
//	*.png, *.svg     the charts
//	report.html      charts, tables, environment and experiment in one page
package results

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Cell statuses.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"  // the server did not start or died, or the load failed: see Reason and Stderr
	StatusSkipped = "skipped" // the row cannot run here (io_uring refused, a tool missing): see Reason
)

// Cell is one measured cell: one row of the experiment (a model with its
// fixed knobs, or an external server) at one point of the sweep, one repeat.
type Cell struct {
	Experiment string `json:"experiment"`
	// Key names the row and sweep point without the repeat: the cells of
	// one key are the repeats of one measurement.
	Key    string `json:"key"`
	Index  int    `json:"index"`  // position of the key in the expanded matrix (repeats share it)
	Order  int    `json:"order"`  // position in the run order (models alternate, repeats interleave)
	Repeat int    `json:"repeat"` // 1-based

	Row      string            `json:"row"`                // label of the row in charts ("uring", "epoll level", "nginx")
	Model    string            `json:"model,omitempty"`    // the registered model, for core rows
	App      string            `json:"app,omitempty"`      // the application the server ran (bench, nethttp:bench, ...)
	External bool              `json:"external,omitempty"` // an external server, run from a command
	Peer     bool              `json:"peer,omitempty"`     // a reference peer (not an iolab core)
	Knobs    map[string]string `json:"knobs,omitempty"`    // every knob set for this cell, fixed and swept
	Sweep    map[string]string `json:"sweep,omitempty"`    // the swept parameters and their values here

	Test        string  `json:"test"` // the workload's name (plaintext, json, ...)
	Connections int     `json:"connections"`
	Pipeline    int     `json:"pipeline"`
	Rate        float64 `json:"rate,omitempty"` // requests/s, 0 for closed loop
	Loader      string  `json:"loader"`

	Status  string    `json:"status"`
	Reason  string    `json:"reason,omitempty"`
	Stderr  string    `json:"stderr,omitempty"` // the server's last words, when it failed
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"` // the measured window

	// The load generator's view.
	Requests          uint64            `json:"requests"`
	RPS               float64           `json:"rps"`
	BytesRead         uint64            `json:"bytes_read"`
	Latency           Latency           `json:"latency_us"`
	Errors            map[string]uint64 `json:"errors,omitempty"`
	ClientCPUUsPerReq float64           `json:"client_cpu_us_per_req"`
	ClientSaturated   bool              `json:"client_saturated,omitempty"`
	Histogram         string            `json:"histogram,omitempty"` // the latency HDR histogram, encoded (loadgen.Merge reads it)

	// The server's view, over the measured window.
	ServerCPUSeconds  float64           `json:"server_cpu_seconds"`
	ServerCPUUsPerReq float64           `json:"server_cpu_us_per_req"`
	ServerUtilization float64           `json:"server_utilization"` // CPUs' worth of CPU time per second of the window
	CtxSwitches       CtxSwitches       `json:"ctx_switches"`
	Counters          map[string]uint64 `json:"counters,omitempty"` // the core's counters (models.Stats), deltas over the window
	SyscallsPerReq    float64           `json:"syscalls_per_req,omitempty"`
	CQEsPerEnter      float64           `json:"cqes_per_enter,omitempty"`

	// Drained: the server was sampled before the load began and after it
	// ended, with no request in flight at either moment (a count of
	// requests, no warm-up), so Counters["requests"] equals Requests when
	// no request failed. Otherwise it was sampled at the measured window's
	// edges, where requests are in flight.
	Drained bool `json:"drained,omitempty"`
	// Hosts says where the processes ran when the load came from load
	// generators of their own (experiment field hosts) rather than the
	// runner's process; Requests, RPS, Latency and the client CPU above
	// are then theirs merged.
	Hosts *Hosts `json:"hosts,omitempty"`
}

// Hosts is where a cell's server and load generators ran.
type Hosts struct {
	Launcher string `json:"launcher"` // local, netns or ssh
	Server   string `json:"server"`   // "netns iolab-4242-1-srv", "ssh bench@server1"
	// WindowSkewSeconds is how far apart the load generators began their
	// measured windows, as the runner heard of them: the server is sampled
	// from the last beginning to the first end.
	WindowSkewSeconds float64       `json:"window_skew_seconds"`
	Loaders           []LoaderShare `json:"loaders"`
}

// LoaderShare is one load generator's part of a cell.
type LoaderShare struct {
	Host              string  `json:"host"`
	Connections       int     `json:"connections"`
	Requests          uint64  `json:"requests"`
	RPS               float64 `json:"rps"`
	Errors            uint64  `json:"errors,omitempty"`
	P50               float64 `json:"p50_us"`
	P99               float64 `json:"p99_us"`
	ClientCPUUsPerReq float64 `json:"client_cpu_us_per_req"`
	ClientSaturated   bool    `json:"client_saturated,omitempty"`
}

// Latency percentiles, in microseconds.
type Latency struct {
	P50   float64 `json:"p50"`
	P75   float64 `json:"p75"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	P9999 float64 `json:"p99_99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Percentiles lists the latency percentiles in order, with their names.
func (l Latency) Percentiles() []struct {
	Name  string
	Value float64
} {
	return []struct {
		Name  string
		Value float64
	}{{"p50", l.P50}, {"p75", l.P75}, {"p90", l.P90}, {"p99", l.P99}, {"p99.9", l.P999}, {"p99.99", l.P9999}, {"max", l.Max}}
}

// CtxSwitches are the server's context switches over the window.
type CtxSwitches struct {
	Voluntary   uint64 `json:"voluntary"`
	Involuntary uint64 `json:"involuntary"`
}

// OK reports a cell that measured something.
func (c *Cell) OK() bool { return c.Status == StatusOK }

// ErrorCount is the total of the load generator's errors.
func (c *Cell) ErrorCount() uint64 {
	var n uint64
	for _, v := range c.Errors {
		n += v
	}
	return n
}

// MakeKey builds a cell key from its row and sweep point: "row" then each
// swept parameter as name=value, sorted, joined by "/".
func MakeKey(row string, sweep map[string]string) string {
	parts := []string{"row=" + row}
	for _, k := range sortedKeys(sweep) {
		parts = append(parts, k+"="+sweep[k])
	}
	return strings.Join(parts, "/")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Validate checks what every reader of cells relies on.
func (c *Cell) Validate() error {
	switch {
	case c.Key == "" || c.Row == "":
		return fmt.Errorf("cell %d: no key or row", c.Index)
	case c.Repeat < 1:
		return fmt.Errorf("cell %s: repeat %d", c.Key, c.Repeat)
	case c.Status != StatusOK && c.Status != StatusFailed && c.Status != StatusSkipped:
		return fmt.Errorf("cell %s: status %q", c.Key, c.Status)
	}
	return nil
}
