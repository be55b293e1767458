package experiments

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"iolab/models"
	"iolab/results"
)

// Defaults of the load parameters a sweep leaves out.
const (
	defaultConnections = 256
	defaultPipeline    = 1
)

// Planned is one cell to run: a row at one sweep point, one repeat.
type Planned struct {
	Key         string
	Index       int // position of the key in the matrix
	Order       int // position in the run order
	Repeat      int
	Row         Row
	Workload    Workload
	Sweep       map[string]string // every swept parameter's value here (and "test" with several workloads)
	Knobs       map[string]string // the row's knobs with the swept ones
	Connections int
	Pipeline    int
	Rate        float64
	Count       int64 // requests to measure, in all (0: for the duration)
	// Drained: the cell counts requests without a warm-up, so nothing is in
	// flight before its load begins or after it ends. Such a cell samples
	// the server at those two moments, and the server's requests counter
	// then equals the load generators' count exactly (when none failed):
	// each load generator sends its share of the count from its first
	// request on and waits for every answer before it stops, and the
	// server has counted each request before answering it. A cell that
	// warms up, or runs for a duration, is sampled at its window's edges,
	// where requests are in flight: its counts agree to within those.
	Drained bool
	// RequestsPerConn is the workload's, or the swept value.
	RequestsPerConn int
}

// App is the application the cell's server runs: the row's, else the
// workload's.
func (p Planned) App() string {
	if p.Row.App != "" {
		return p.Row.App
	}
	return p.Workload.App
}

// Expand lists the cells in the order they run. Every sweep point is run for
// each row before the next point, and each repeat is a whole pass over the
// matrix: rows alternate (A B A B) and repeats interleave, so that a drift of
// the machine spreads over every row instead of landing on one.
func (s *Spec) Expand() []Planned {
	points := []map[string]string{{}}
	for _, d := range s.Sweep {
		var next []map[string]string
		for _, p := range points {
			for _, v := range d.Values {
				n := map[string]string{d.Name: v}
				for k, x := range p {
					n[k] = x
				}
				next = append(next, n)
			}
		}
		points = next
	}
	var keys []Planned
	for _, w := range s.Workloads {
		for _, pt := range points {
			p := pt
			if len(s.Workloads) > 1 {
				p = map[string]string{"test": w.Test}
				for k, v := range pt {
					p[k] = v
				}
			}
			keys = append(keys, s.cellsAt(w, p)...)
		}
	}
	for i := range keys {
		keys[i].Index = i
	}
	var cells []Planned
	for rep := 1; rep <= s.Repeat; rep++ {
		for _, k := range keys {
			k.Repeat = rep
			k.Order = len(cells)
			cells = append(cells, k)
		}
	}
	return cells
}

// cellsAt are the rows at one sweep point of one workload.
func (s *Spec) cellsAt(w Workload, p map[string]string) []Planned {
	var keys []Planned
	for _, r := range s.Rows {
		c := Planned{Row: r, Workload: w, Sweep: p, Knobs: map[string]string{}, Connections: defaultConnections, Pipeline: defaultPipeline,
			Count: s.Count, Drained: s.Count > 0 && s.Warmup == 0, RequestsPerConn: w.RequestsPerConn}
		for k, v := range r.Knobs {
			c.Knobs[k] = v
		}
		for k, v := range p {
			switch k {
			case "connections":
				c.Connections, _ = strconv.Atoi(v)
			case "pipeline":
				c.Pipeline, _ = strconv.Atoi(v)
			case "rate":
				c.Rate, _ = strconv.ParseFloat(v, 64)
			case "requests_per_conn":
				c.RequestsPerConn, _ = strconv.Atoi(v)
			case "test":
			default:
				c.Knobs[k] = v
			}
		}
		c.Key = results.MakeKey(r.Label, p)
		keys = append(keys, c)
	}
	return keys
}

// perCellOverhead is what a cell costs besides warm-up and measurement:
// starting the server, connecting, stopping.
const perCellOverhead = time.Second

// Estimate is how long the cells should take.
func (s *Spec) Estimate(cells []Planned) time.Duration {
	return time.Duration(len(cells)) * (s.Warmup + s.Duration + perCellOverhead)
}

// WritePlan writes the cells in run order with the estimated time, as
// `iolab run --dry-run` shows them.
func (s *Spec) WritePlan(w io.Writer, cells []Planned) error {
	about := "about"
	if s.Count > 0 {
		about = "at most" // the count ends a cell, the duration only bounds it
	}
	fmt.Fprintf(w, "%s (%s): %d cells, %d rows, %d repeats; %s %v\n", s.Name, s.File, len(cells), len(s.Rows), s.Repeat,
		about, s.Estimate(cells).Round(time.Second))
	if s.Description != "" {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(s.Description))
	}
	for _, wl := range s.Workloads {
		fmt.Fprintf(w, "  workload %s: %s %s (app %s)", wl.Test, wl.Method, strings.Join(wl.Paths, " "), wl.App)
		if wl.BodySize > 0 {
			fmt.Fprintf(w, ", body of %s", models.FormatSize(wl.BodySize))
		}
		if wl.RequestsPerConn > 0 {
			fmt.Fprintf(w, ", %d requests per connection", wl.RequestsPerConn)
		}
		if len(wl.StaticFiles) > 0 {
			fmt.Fprintf(w, ", %d files made to serve", len(wl.StaticFiles))
		}
		fmt.Fprintln(w)
	}
	measure := s.Duration.String()
	if s.Count > 0 {
		measure = fmt.Sprintf("%d requests (for at most %v)", s.Count, s.Duration)
	}
	fmt.Fprintf(w, "  loader %s, warm-up %v, measure %s", s.Loader, s.Warmup, measure)
	if s.ServerCPUs != "" || s.LoaderCPUs != "" {
		fmt.Fprintf(w, ", server on CPUs %q, load on %q", s.ServerCPUs, s.LoaderCPUs)
	}
	if s.CPUQuota > 0 {
		fmt.Fprintf(w, ", server limited to %g CPU", s.CPUQuota)
	}
	fmt.Fprintln(w)
	if s.Count > 0 && s.Warmup == 0 {
		fmt.Fprintln(w, "  the server is sampled before the load begins and after it ends, with nothing in flight: its request count is the load generators'")
	}
	if l := newLaunch(s, "iolab"); l.kind != "" {
		l.describe(w)
		// What the first cell runs, to try by hand when a host refuses.
		r, c := &Runner{Spec: s}, cells[0]
		fmt.Fprintln(w, "  the first cell runs:")
		if c.Row.Model != "" {
			fmt.Fprintf(w, "    %s\n", shellJoin(pinned(serveArgs(c, l), s.ServerCPUs, l.server)))
		}
		for i, h := range l.loaders {
			fmt.Fprintf(w, "    %s\n", shellJoin(pinned(r.loadArgs(c, i, len(l.loaders), h, l.target(i, "PORT")), s.LoaderCPUs, h)))
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\trepeat\ttest\trow\tconnections\tpipeline\trate\tknobs")
	for _, c := range cells {
		rate := "closed"
		if c.Rate > 0 {
			rate = strconv.FormatFloat(c.Rate, 'f', -1, 64)
		}
		knobs := make([]string, 0, len(c.Knobs))
		for _, k := range sortedKeys(c.Knobs) {
			knobs = append(knobs, k+"="+c.Knobs[k])
		}
		if c.Row.App != "" {
			knobs = append([]string{"app=" + c.Row.App}, knobs...)
		}
		if c.Row.Model == "" {
			knobs = []string{"external: " + c.Row.Command}
		}
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%d\t%d\t%s\t%s\n", c.Order+1, c.Repeat, c.Workload.Test, c.Row.Label, c.Connections, c.Pipeline, rate, strings.Join(knobs, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The charts' names, so that a lesson (or a reader planning one) can
	// link to them before the run.
	names, err := s.Charts()
	fmt.Fprintf(w, "  charts a complete run draws (%d, each .png and .svg):\n", len(names))
	for _, n := range names {
		fmt.Fprintf(w, "    %s\n", n)
	}
	if err != nil {
		fmt.Fprintf(w, "    and some that cannot be laid out: %v\n", err)
	}
	return nil
}
