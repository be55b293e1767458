package results

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchmath"
)

// compareMetric is one measure Compare tabulates.
type compareMetric struct {
	name, better string
	value        func(*Cell) float64
	format       func(float64) string
	// zeroIsMissing: a cost of zero means "not measured" (an external
	// server's CPU), not "free", and is left out of the sample.
	zeroIsMissing bool
}

var compareMetrics = []compareMetric{
	{"req/s", "higher is better", func(c *Cell) float64 { return c.RPS }, fmtSI, false},
	{"server-µs/req", "server CPU per request, lower is better", func(c *Cell) float64 { return c.ServerCPUUsPerReq }, fmtSI, true},
	{"client-µs/req", "load generator CPU per request, lower is better", func(c *Cell) float64 { return c.ClientCPUUsPerReq }, fmtSI, true},
	{"p99", "99th percentile latency, lower is better", func(c *Cell) float64 { return c.Latency.P99 }, fmtMicros, true},
}

// compareConfidence is the confidence level of the intervals Compare shows.
const compareConfidence = 0.95

// Compare writes a benchstat-style comparison of two runs, a (old) and b
// (new): for each key in both (same test, row and sweep point) and each of
// requests/s, server and client CPU-µs per request and p99 latency, the
// median of each side with its spread, and the change from old to new with
// its p-value, or "~" when the change is not significant at alpha. Spread
// is the 95% confidence interval of the median when there are enough
// repeats for one, and the range (min..max, marked *) otherwise. The
// statistics are golang.org/x/perf/benchmath's: medians, and the
// Mann-Whitney U test, which assumes nothing about the distribution. Keys
// on one side only are listed as removed or added.
func Compare(w io.Writer, a, b []Cell, alpha float64) error {
	if !(alpha > 0 && alpha < 1) {
		return fmt.Errorf("compare: alpha %v: want a significance level between 0 and 1, such as 0.05", alpha)
	}
	old, oldKeys := cellsByKey(a)
	cur, curKeys := cellsByKey(b)
	var both, removed, added []compareKey
	for _, k := range oldKeys {
		if _, ok := cur[k]; ok {
			both = append(both, k)
		} else {
			removed = append(removed, k)
		}
	}
	for _, k := range curKeys {
		if _, ok := old[k]; !ok {
			added = append(added, k)
		}
	}
	thresholds := benchmath.DefaultThresholds
	thresholds.CompareAlpha = alpha
	notes := map[string]bool{}
	ranged := false
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	tables := 0
	for _, m := range compareMetrics {
		var lines []string
		var geoOld, geoNew []float64
		for _, k := range both {
			va, vb := m.sample(old[k]), m.sample(cur[k])
			if len(va) == 0 && len(vb) == 0 {
				continue
			}
			line := k.String()
			var sa, sb benchmath.Summary
			cols := make([]string, 2)
			for i, side := range []struct {
				vals  []float64
				cells []Cell
				sum   *benchmath.Summary
			}{{va, old[k], &sa}, {vb, cur[k], &sb}} {
				if len(side.vals) == 0 {
					cols[i] = missing(side.cells)
					continue
				}
				// NewSample sorts the values in place, which spreadOf relies on.
				*side.sum = benchmath.AssumeNothing.Summary(benchmath.NewSample(side.vals, &thresholds), compareConfidence)
				spread, r := spreadOf(*side.sum, side.vals)
				ranged = ranged || r
				cols[i] = m.format(side.sum.Center) + " " + spread
				for _, warn := range side.sum.Warnings {
					// The interval's warning is why a range is shown instead.
					if !r {
						notes[warn.Error()] = true
					}
				}
			}
			line += "\t" + cols[0] + "\t" + cols[1] + "\t"
			if len(va) > 0 && len(vb) > 0 {
				c := benchmath.AssumeNothing.Compare(benchmath.NewSample(va, &thresholds), benchmath.NewSample(vb, &thresholds))
				line += c.FormatDelta(sa.Center, sb.Center) + "\t" + c.String()
				for _, warn := range c.Warnings {
					notes[warn.Error()] = true
				}
				if sa.Center > 0 && sb.Center > 0 {
					geoOld, geoNew = append(geoOld, sa.Center), append(geoNew, sb.Center)
				}
			}
			lines = append(lines, line)
		}
		if len(lines) == 0 {
			continue
		}
		if tables > 0 {
			fmt.Fprintln(tw)
		}
		tables++
		fmt.Fprintf(tw, "%s (%s)\n", m.name, m.better)
		fmt.Fprintln(tw, "key\told\tnew\tdelta")
		for _, l := range lines {
			fmt.Fprintln(tw, l)
		}
		if len(geoOld) > 1 {
			g0, g1 := geomean(geoOld), geomean(geoNew)
			fmt.Fprintf(tw, "geomean\t%s\t%s\t%+.2f%%\n", m.format(g0), m.format(g1), (g1/g0-1)*100)
		}
	}
	if tables == 0 && len(both) > 0 {
		fmt.Fprintln(tw, "No key measured anything on either side.")
	}
	if len(both) == 0 {
		fmt.Fprintln(tw, "No key is in both runs: nothing to compare (are they runs of the same experiment?).")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads a cell even when nothing follows it on its line.
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	for _, list := range []struct {
		title string
		keys  []compareKey
	}{{"only in old (removed)", removed}, {"only in new (added)", added}} {
		if len(list.keys) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", list.title)
		for _, k := range list.keys {
			fmt.Fprintf(w, "  %s\n", k)
		}
	}
	if tables > 0 {
		fmt.Fprintf(w, "\n± is the %.0f%% confidence interval of the median", compareConfidence*100)
		if ranged {
			fmt.Fprint(w, "; ±…* is the range (min..max) instead, where too few repeats give no interval")
		}
		fmt.Fprintf(w, ".\ndelta is the change of the median from old to new; ~ means no significant difference (Mann-Whitney U test, p > %g).\n", alpha)
	}
	for _, n := range sortedKeys(notes) {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}

// compareKey is what makes two cells the same measurement in two runs.
type compareKey struct{ test, key string }

func (k compareKey) String() string {
	if k.test == "" {
		return k.key
	}
	return k.test + "/" + k.key
}

// cellsByKey groups cells by test and key, keys in matrix order.
func cellsByKey(cells []Cell) (map[compareKey][]Cell, []compareKey) {
	sorted := append([]Cell(nil), cells...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Index < sorted[j].Index })
	m := map[compareKey][]Cell{}
	var keys []compareKey
	for _, c := range sorted {
		k := compareKey{c.Test, c.Key}
		if _, ok := m[k]; !ok {
			keys = append(keys, k)
		}
		m[k] = append(m[k], c)
	}
	return m, keys
}

// sample is the metric's values over the cells that measured.
func (m compareMetric) sample(cells []Cell) []float64 {
	var v []float64
	for i := range cells {
		if c := &cells[i]; c.OK() {
			x := m.value(c)
			if !finite(x) || (m.zeroIsMissing && x <= 0) {
				continue
			}
			v = append(v, x)
		}
	}
	return v
}

// missing says why a side has no value: its status, or "–" when its
// cells measured but not this.
func missing(cells []Cell) string {
	for i := range cells {
		if cells[i].OK() {
			return "–"
		}
	}
	if len(cells) > 0 {
		return cells[len(cells)-1].Status
	}
	return "–"
}

// spreadOf is "±2%" from the confidence interval, or "±2%*" from the range
// when the interval is unbounded (benchmath needs six values for a 95%
// interval of the median), and whether it is a range.
func spreadOf(s benchmath.Summary, sorted []float64) (string, bool) {
	if !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) {
		return "±" + s.PctRangeString(), false
	}
	if len(sorted) < 2 {
		return "", false
	}
	r := benchmath.Summary{Center: s.Center, Lo: sorted[0], Hi: sorted[len(sorted)-1]}
	return "±" + r.PctRangeString() + "*", true
}

func geomean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += math.Log(x)
	}
	return math.Exp(s / float64(len(v)))
}
