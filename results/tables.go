package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// WriteCSV writes one row per cell: identity, sweep, outcome, and every
// measure, with the server counters as counter:<name> columns.
func WriteCSV(w io.Writer, cells []Cell) error {
	sweepCols, counterCols := map[string]bool{}, map[string]bool{}
	for _, c := range cells {
		for k := range c.Sweep {
			sweepCols[k] = true
		}
		for k := range c.Counters {
			counterCols[k] = true
		}
	}
	sweep, counters := sortedKeys(sweepCols), sortedKeys(counterCols)
	head := []string{"experiment", "order", "index", "repeat", "row", "model", "external", "peer", "test",
		"connections", "pipeline", "rate", "loader", "status", "reason", "seconds", "requests", "rps",
		"p50_us", "p75_us", "p90_us", "p99_us", "p99_9_us", "p99_99_us", "max_us", "mean_us", "errors",
		"server_cpu_us_per_req", "client_cpu_us_per_req", "server_utilization", "syscalls_per_req", "cqes_per_enter",
		"ctx_switches_voluntary", "ctx_switches_involuntary", "knobs"}
	for _, k := range sweep {
		head = append(head, "sweep:"+k)
	}
	for _, k := range counters {
		head = append(head, "counter:"+k)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, c := range cells {
		knobs := make([]string, 0, len(c.Knobs))
		for _, k := range sortedKeys(c.Knobs) {
			knobs = append(knobs, k+"="+c.Knobs[k])
		}
		l := c.Latency
		row := []string{c.Experiment, strconv.Itoa(c.Order), strconv.Itoa(c.Index), strconv.Itoa(c.Repeat), c.Row, c.Model,
			strconv.FormatBool(c.External), strconv.FormatBool(c.Peer), c.Test, strconv.Itoa(c.Connections),
			strconv.Itoa(c.Pipeline), f(c.Rate), c.Loader, c.Status, c.Reason, f(c.Seconds), u(c.Requests), f(c.RPS),
			f(l.P50), f(l.P75), f(l.P90), f(l.P99), f(l.P999), f(l.P9999), f(l.Max), f(l.Mean), u(c.ErrorCount()),
			f(c.ServerCPUUsPerReq), f(c.ClientCPUUsPerReq), f(c.ServerUtilization), f(c.SyscallsPerReq), f(c.CQEsPerEnter),
			u(c.CtxSwitches.Voluntary), u(c.CtxSwitches.Involuntary), strings.Join(knobs, " ")}
		for _, k := range sweep {
			row = append(row, c.Sweep[k])
		}
		for _, k := range counters {
			row = append(row, u(c.Counters[k]))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteBench writes each successful cell as a Go benchmark result line, with
// configuration lines naming the experiment, so that benchstat can compare
// rows and runs:
//
//	benchstat -col /row bench.txt
//	benchstat old/bench.txt new/bench.txt
//
// A line is BenchmarkTest/row=R/<sweep k=v>... N ns/op req/s server-us/req
// client-us/req p99-us errors, N being the requests measured.
func WriteBench(w io.Writer, cells []Cell) error {
	if len(cells) > 0 {
		fmt.Fprintf(w, "experiment: %s\n\n", cells[0].Experiment)
	}
	ok := make([]Cell, 0, len(cells))
	for _, c := range cells {
		if c.OK() && c.Requests > 0 {
			ok = append(ok, c)
		}
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Order < ok[j].Order })
	for _, c := range ok {
		name := BenchName(&c)
		nsPerOp := c.Seconds * 1e9 / float64(c.Requests)
		_, err := fmt.Fprintf(w, "%s\t%d\t%.2f ns/op\t%.0f req/s\t%.4f server-us/req\t%.4f client-us/req\t%.0f p99-us\t%d errors\n",
			name, c.Requests, nsPerOp, c.RPS, c.ServerCPUUsPerReq, c.ClientCPUUsPerReq, c.Latency.P99, c.ErrorCount())
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchName is a cell's Go benchmark name: Benchmark<Test>/row=<row>/k=v...
// with spaces and slashes in values made safe for benchstat.
func BenchName(c *Cell) string {
	safe := func(s string) string {
		return strings.NewReplacer(" ", "_", "/", "_", "\t", "_").Replace(s)
	}
	test := c.Test
	if test != "" {
		test = strings.ToUpper(test[:1]) + test[1:]
	}
	var b strings.Builder
	b.WriteString("Benchmark" + safe(test) + "/row=" + safe(c.Row))
	for _, k := range sortedKeys(c.Sweep) {
		b.WriteString("/" + safe(k) + "=" + safe(c.Sweep[k]))
	}
	return b.String()
}

// Summary is the repeats of one key reduced to median, min and max.
type Summary struct {
	Key     string
	Row     string
	Sweep   map[string]string
	Repeats int
	Cells   []Cell
}

// Median returns the median of f over the summary's OK cells, with the
// minimum and maximum (the error bars of the charts), or NaN when none.
func (s *Summary) Median(f func(*Cell) float64) (med, lo, hi float64) {
	var v []float64
	for i := range s.Cells {
		if c := &s.Cells[i]; c.OK() {
			v = append(v, f(c))
		}
	}
	if len(v) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	sort.Float64s(v)
	n := len(v)
	med = v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return med, v[0], v[n-1]
}

// Summarize groups cells by key, in the order keys first appear in the
// matrix (by Index).
func Summarize(cells []Cell) []Summary {
	byKey := map[string]*Summary{}
	var order []*Summary
	sorted := append([]Cell(nil), cells...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Index < sorted[j].Index })
	for _, c := range sorted {
		s, ok := byKey[c.Key]
		if !ok {
			s = &Summary{Key: c.Key, Row: c.Row, Sweep: c.Sweep}
			byKey[c.Key] = s
			order = append(order, s)
		}
		s.Cells = append(s.Cells, c)
		s.Repeats++
	}
	out := make([]Summary, len(order))
	for i, s := range order {
		out[i] = *s
	}
	return out
}
