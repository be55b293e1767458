package results

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// loadParams are the sweep parameters that belong to the load, not to a
// core: they place a measurement, where a swept knob changes the server.
// "test" is one of them: an experiment of several workloads sweeps it, and
// every chart already names its test.
var loadParams = map[string]bool{"connections": true, "pipeline": true, "rate": true, "test": true}

// point is one key of a run (a row at one sweep point) with its repeats,
// and where it sits: the charts and the report group and order by this.
type point struct {
	Summary
	test     string
	conns    int
	pipeline int
	rate     float64
	knobs    map[string]string // the swept knobs here: the sweep without the load parameters
	index    int               // the key's position in the matrix

	ok, failed, skipped int
	reason              string // why the last repeat that did not measure failed or was skipped
	peer                bool   // a reference peer's row (Cell.Peer), marked as such wherever it is named

	// placeless is a row that never measured and recorded no sweep point
	// (a cell from a runner that gave up before it knew where it was). It
	// is shown, as a failure, at every point of its test, so that an
	// absence is never silent.
	placeless bool
}

// pointsOf summarises cells into points, in matrix order.
func pointsOf(cells []Cell) []point {
	sums := Summarize(cells)
	pts := make([]point, 0, len(sums))
	for _, s := range sums {
		c := s.Cells[0]
		p := point{Summary: s, test: c.Test, conns: c.Connections, pipeline: c.Pipeline, rate: c.Rate,
			knobs: map[string]string{}, index: c.Index}
		for k, v := range s.Sweep {
			if !loadParams[k] {
				p.knobs[k] = v
			}
		}
		for i := range s.Cells {
			p.peer = p.peer || s.Cells[i].Peer
			switch c := &s.Cells[i]; c.Status {
			case StatusOK:
				p.ok++
			case StatusSkipped:
				p.skipped++
				p.reason = c.Reason
			default:
				p.failed++
				p.reason = c.Reason
			}
		}
		p.placeless = p.ok == 0 && len(s.Sweep) == 0 && p.conns == 0 && p.pipeline == 0
		pts = append(pts, p)
	}
	return pts
}

// median is the median of f over the repeats that measured, with min and
// max; NaN when none did or the values are not finite.
func (p *point) median(f func(*Cell) float64) (med, lo, hi float64) {
	med, lo, hi = p.Summary.Median(f)
	if math.IsInf(med, 0) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return med, lo, hi
}

// outcome is the point's status in one word: ok, failed or skipped (the
// most common of failed and skipped when some repeats measured).
func (p *point) outcome() string {
	switch {
	case p.failed+p.skipped == 0:
		return StatusOK
	case p.skipped > p.failed:
		return StatusSkipped
	default:
		return StatusFailed
	}
}

// status says in a few words whether the point measured: "ok", "failed:
// reason", "skipped: reason", or "2 of 3 ok; failed: reason".
func (p *point) status() string { return p.statusIn(80) }

// statusIn is status with the reason cut to fit limit runes.
func (p *point) statusIn(limit int) string {
	n := p.ok + p.failed + p.skipped
	why := StatusFailed
	if p.skipped > p.failed {
		why = StatusSkipped
	}
	if r := oneLine(p.reason, limit); r != "" {
		why += ": " + r
	}
	switch {
	case p.ok == n:
		return StatusOK
	case p.ok == 0:
		return why
	default:
		return fmt.Sprintf("%d of %d ok; %s", p.ok, n, why)
	}
}

// oneLine flattens s to one line of at most limit runes.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit-1]) + "…"
	}
	return s
}

// placeKey identifies where a point sits, without the parameters in omit:
// the points of one chart share it.
func (p *point) placeKey(omit ...string) string {
	skip := map[string]bool{}
	for _, o := range omit {
		skip[o] = true
	}
	var b strings.Builder
	b.WriteString(p.test)
	if !skip["connections"] {
		fmt.Fprintf(&b, "\x00c%d", p.conns)
	}
	if !skip["pipeline"] {
		fmt.Fprintf(&b, "\x00p%d", p.pipeline)
	}
	if !skip["rate"] {
		fmt.Fprintf(&b, "\x00r%g", p.rate)
	}
	for _, k := range sortedKeys(p.knobs) {
		if !skip[k] {
			b.WriteString("\x00" + k + "=" + p.knobs[k])
		}
	}
	return b.String()
}

// placeName is placeKey made fit for a file name: plaintext-c256-p16-r0...
// (rate only when open loop, knobs as name=value).
func (p *point) placeName(omit ...string) string {
	skip := map[string]bool{}
	for _, o := range omit {
		skip[o] = true
	}
	var parts []string
	if p.test != "" {
		parts = append(parts, p.test)
	}
	if !skip["connections"] {
		parts = append(parts, "c"+strconv.Itoa(p.conns))
	}
	if !skip["pipeline"] {
		parts = append(parts, "p"+strconv.Itoa(p.pipeline))
	}
	if !skip["rate"] && p.rate > 0 {
		parts = append(parts, "r"+strconv.FormatFloat(p.rate, 'f', -1, 64))
	}
	for _, k := range sortedKeys(p.knobs) {
		if !skip[k] {
			parts = append(parts, k+"="+p.knobs[k])
		}
	}
	return fileSafe(strings.Join(parts, "-"))
}

// placeTitle is where a point sits, for a chart title: "plaintext, 256
// connections, pipeline 16, cqe_batch=32".
func (p *point) placeTitle(omit ...string) string {
	skip := map[string]bool{}
	for _, o := range omit {
		skip[o] = true
	}
	var parts []string
	if p.test != "" {
		parts = append(parts, p.test)
	}
	if !skip["connections"] {
		parts = append(parts, strconv.Itoa(p.conns)+" connections")
	}
	if !skip["pipeline"] {
		parts = append(parts, "pipeline "+strconv.Itoa(p.pipeline))
	}
	if !skip["rate"] {
		if p.rate > 0 {
			parts = append(parts, "open loop at "+fmtSI(p.rate)+" req/s")
		}
	}
	for _, k := range sortedKeys(p.knobs) {
		if !skip[k] {
			parts = append(parts, k+"="+p.knobs[k])
		}
	}
	return strings.Join(parts, ", ")
}

// fileSafe keeps letters, digits and ._=+- and turns anything else into _.
func fileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("._=+-", c) >= 0:
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// group is the points of one chart.
type group struct {
	key string
	pts []point
}

// groupPoints splits points by placeKey(omit...), in order of first
// appearance. A placeless point joins every group of its test (or every
// group, when it names no test); with no group to join, the placeless
// points make one of their own.
func groupPoints(pts []point, omit ...string) []group {
	var groups []group
	at := map[string]int{}
	var placeless []point
	for _, p := range pts {
		if p.placeless {
			placeless = append(placeless, p)
			continue
		}
		k := p.placeKey(omit...)
		i, ok := at[k]
		if !ok {
			i = len(groups)
			at[k] = i
			groups = append(groups, group{key: k})
		}
		groups[i].pts = append(groups[i].pts, p)
	}
	joined := make([]bool, len(placeless))
	for gi := range groups {
		for i, p := range placeless {
			if p.test == "" || p.test == groups[gi].pts[0].test {
				groups[gi].pts = append(groups[gi].pts, p)
				joined[i] = true
			}
		}
	}
	var lone []point
	for i, p := range placeless {
		if !joined[i] {
			lone = append(lone, p)
		}
	}
	if len(lone) > 0 {
		groups = append(groups, group{key: "\x00placeless", pts: lone})
	}
	return groups
}

// first is the point that says where a group sits: one that has a place.
func (g *group) first() *point {
	for i := range g.pts {
		if !g.pts[i].placeless {
			return &g.pts[i]
		}
	}
	return &g.pts[0]
}

// repeats is the most repeats of any point of the group.
func repeats(pts []point) int {
	n := 0
	for _, p := range pts {
		n = max(n, p.Repeats)
	}
	return n
}

// labels names each point in a chart of its group: by its row, and where
// that is not enough (one row at several points) by its sweep too.
func labels(pts []point) []string {
	count := map[string]int{}
	for _, p := range pts {
		count[p.Row]++
	}
	out := make([]string, len(pts))
	for i, p := range pts {
		out[i] = p.name()
		if count[p.Row] > 1 && len(p.Sweep) > 0 {
			var kv []string
			for _, k := range sortedKeys(p.Sweep) {
				kv = append(kv, k+"="+p.Sweep[k])
			}
			out[i] += " (" + strings.Join(kv, " ") + ")"
		}
	}
	return out
}

// PeerMark follows the name of a reference peer's row in charts and tables,
// so that a reader tells the cores from what they are compared with.
const PeerMark = " (peer)"

// name is the point's row as charts and tables show it.
func (p *point) name() string {
	if p.peer {
		return p.Row + PeerMark
	}
	return p.Row
}

// knobDims lists the swept knobs of the points, by name.
func knobDims(pts []point) []string {
	seen := map[string]bool{}
	for _, p := range pts {
		for k := range p.knobs {
			seen[k] = true
		}
	}
	return sortedKeys(seen)
}

// dimValues lists the values a swept parameter takes, in matrix order, or
// numerically when every value is a number (cells from older runs may not
// carry their matrix position).
func dimValues(pts []point, name string) []string {
	var vals []string
	seen := map[string]bool{}
	for _, p := range pts {
		v, ok := p.knobs[name]
		if !ok {
			continue
		}
		if !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	numeric := true
	for _, v := range vals {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			numeric = false
		}
	}
	if numeric {
		sort.SliceStable(vals, func(i, j int) bool {
			a, _ := strconv.ParseFloat(vals[i], 64)
			b, _ := strconv.ParseFloat(vals[j], 64)
			return a < b
		})
	}
	return vals
}

// finite reports a usable value.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// fmtSI formats v with three significant digits and a k, M or G suffix:
// 1.23M, 950, 12.3, 0.612.
func fmtSI(v float64) string {
	if !finite(v) {
		return "–"
	}
	a := math.Abs(v)
	suffix := ""
	switch {
	case a >= 1e9:
		v, suffix = v/1e9, "G"
	case a >= 1e6:
		v, suffix = v/1e6, "M"
	case a >= 1e4:
		v, suffix = v/1e3, "k"
	}
	return strconv.FormatFloat(v, 'f', decimals(v), 64) + suffix
}

// decimals gives three significant digits, at most four decimals.
func decimals(v float64) int {
	a := math.Abs(v)
	switch {
	case a == 0 || a >= 100:
		return 0
	case a >= 10:
		return 1
	case a >= 1:
		return 2
	case a >= 0.1:
		return 3
	default:
		return 4
	}
}

// fmtMicros formats a latency in microseconds with a unit that suits it.
func fmtMicros(us float64) string {
	switch {
	case !finite(us):
		return "–"
	case us >= 1e6:
		return fmtSI(us/1e6) + " s"
	case us >= 1e3:
		return fmtSI(us/1e3) + " ms"
	default:
		return fmtSI(us) + " µs"
	}
}
