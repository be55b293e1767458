package results

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Charts lays out every chart of a run, in the order the report shows them:
//
//   - for each sweep point (test, connections, pipeline, rate and swept
//     knobs): the ranking by requests/s, server CPU-µs per request, the
//     latency percentiles, syscalls per request and, where io_uring rows
//     have them, CQEs per io_uring_enter;
//   - when connections is swept, requests/s against connections for each
//     combination of the other sweep values;
//   - when pipeline is swept over three depths or more, requests/s, server
//     CPU-µs per request and syscalls per request against the depth;
//   - for each pair of swept knobs, each row and each combination of the
//     other sweep values, heat maps of server CPU-µs per request and of
//     requests/s.
//
// A chart that cannot be laid out is left out and its error returned
// (joined with the others) beside the charts that could.
func Charts(cells []Cell) ([]*Chart, error) {
	colors := RowColors(cells)
	pts := pointsOf(cells)
	var charts []*Chart
	var errs []error
	add := func(c *Chart, err error) {
		if err != nil {
			errs = append(errs, err)
		} else if c != nil {
			charts = append(charts, c)
		}
	}
	places := groupPoints(pts)
	for _, g := range places {
		add(rankChart(g, colors))
	}
	for _, g := range groupPoints(pts, "connections") {
		add(lineChart(g, colors, connectionsLine))
	}
	for _, spec := range depthLines {
		for _, g := range groupPoints(pts, "pipeline") {
			add(lineChart(g, colors, spec))
		}
	}
	for _, kind := range []func(group, Colors) (*Chart, error){cpuChart, latencyChart, syscallsChart, cqesChart} {
		for _, g := range places {
			add(kind(g, colors))
		}
	}
	dims := knobDims(pts)
	for _, m := range []HeatMetric{HeatCPU, HeatRPS} {
		for i := range dims {
			for j := i + 1; j < len(dims); j++ {
				for _, g := range groupPoints(pts, dims[i], dims[j]) {
					for _, row := range groupRows(g.pts) {
						add(heatChart(row, dims[i], dims[j], m))
					}
				}
			}
		}
	}
	uniqueNames(charts)
	return charts, errors.Join(errs...)
}

// uniqueNames keeps file names apart when two places make the same name
// (values that differ only in characters a file name cannot hold).
func uniqueNames(charts []*Chart) {
	seen := map[string]int{}
	for _, c := range charts {
		seen[c.Name]++
		if n := seen[c.Name]; n > 1 {
			c.Name += "-" + strconv.Itoa(n)
		}
	}
}

// groupRows splits points by row, in order of first appearance.
func groupRows(pts []point) [][]point {
	var out [][]point
	at := map[string]int{}
	for _, p := range pts {
		i, ok := at[p.Row]
		if !ok {
			i = len(out)
			at[p.Row] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], p)
	}
	return out
}

// oneGroup makes the points of cells one chart's worth, for the exported
// chart functions.
func oneGroup(cells []Cell, colors Colors) (group, Colors) {
	if colors == nil {
		colors = RowColors(cells)
	}
	return group{pts: pointsOf(cells)}, colors
}

// RankChart ranks rows by requests per second, best first: the
// TechEmpower view. cells are one sweep point's (as Charts groups them);
// colors may be nil. A row that did not measure is an empty bar labelled
// with why. It returns nil when there are no cells.
func RankChart(cells []Cell, colors Colors) (*Chart, error) {
	return rankChart(oneGroup(cells, colors))
}

// CPUChart ranks rows by server CPU-µs per request, lowest first: the
// efficiency view, which still ranks rows when the load generator, not the
// server, limits requests per second.
func CPUChart(cells []Cell, colors Colors) (*Chart, error) {
	return cpuChart(oneGroup(cells, colors))
}

// SyscallsChart shows syscalls per request per row, lowest first, or nil
// when no row counted them.
func SyscallsChart(cells []Cell, colors Colors) (*Chart, error) {
	return syscallsChart(oneGroup(cells, colors))
}

// CQEsChart shows CQEs reaped per io_uring_enter for the rows that have
// them, most first, or nil when none has.
func CQEsChart(cells []Cell, colors Colors) (*Chart, error) {
	return cqesChart(oneGroup(cells, colors))
}

// ConnectionsChart draws requests/s against connections, a line per row
// with bars from the slowest to the fastest repeat. cells are one
// combination of the other sweep values; it returns nil with fewer than
// two connection counts.
func ConnectionsChart(cells []Cell, colors Colors) (*Chart, error) {
	g, colors := oneGroup(cells, colors)
	return lineChart(g, colors, connectionsLine)
}

// DepthCharts draws requests/s, server CPU-µs per request and syscalls
// per request against the pipeline depth, a line per row. cells are one
// combination of the other sweep values; it returns none with fewer than
// three depths.
func DepthCharts(cells []Cell, colors Colors) ([]*Chart, error) {
	g, colors := oneGroup(cells, colors)
	var charts []*Chart
	var errs []error
	for _, spec := range depthLines {
		c, err := lineChart(g, colors, spec)
		if err != nil {
			errs = append(errs, err)
		} else if c != nil {
			charts = append(charts, c)
		}
	}
	return charts, errors.Join(errs...)
}

// LatencyChart draws the latency percentiles of each row on a log scale,
// or nil when no row measured any.
func LatencyChart(cells []Cell, colors Colors) (*Chart, error) {
	return latencyChart(oneGroup(cells, colors))
}

// --- bars

// bar is one row of a horizontal bar chart.
type bar struct {
	row   string  // for the colour
	name  string  // on the axis
	value float64 // NaN: no bar, only the label
	label string  // after the bar
}

// barPlot lays out horizontal bars, the first at the top, each labelled
// at its end, so that nobody has to read values off an axis.
func barPlot(title, xlabel string, bars []bar, colors Colors) (*plot.Plot, vg.Length, error) {
	p := newPlot(title, xlabel, "")
	p.Add(gridLines(true))
	n := len(bars)
	names := make([]string, n)
	var xys plotter.XYs
	var texts []string
	var styles []text.Style
	top := 0.0
	for i, b := range bars {
		y := float64(n - 1 - i)
		names[n-1-i] = b.name
		x := 0.0
		// What did not measure is said in grey where its bar would be.
		style := textStyle(9, darkGrey, draw.XLeft, draw.YCenter)
		if finite(b.value) {
			x = b.value
			top = math.Max(top, b.value)
			bc, err := plotter.NewBarChart(plotter.Values{b.value}, vg.Points(16))
			if err != nil {
				return nil, 0, err
			}
			bc.Horizontal, bc.XMin, bc.Color = true, y, colors.of(b.row)
			bc.LineStyle.Width = 0
			p.Add(bc)
			style.Color = color.Black
		}
		xys = append(xys, plotter.XY{X: x, Y: y})
		texts = append(texts, b.label)
		styles = append(styles, style)
	}
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return nil, 0, err
	}
	labels.TextStyle, labels.Offset = styles, vg.Point{X: vg.Points(4)}
	p.Add(labels)
	p.NominalY(names...)
	p.X.Min = 0
	if top > 0 {
		p.X.Max = top
	} else {
		p.X.Max = 1
		p.X.Tick.Marker = plot.ConstantTicks{} // nothing measured: an axis would mislead
	}
	height := vg.Points(100) + vg.Points(26)*vg.Length(n)
	return p, height, nil
}

func rankChart(g group, colors Colors) (*Chart, error) {
	if len(g.pts) == 0 {
		return nil, nil
	}
	rps := func(c *Cell) float64 { return c.RPS }
	pts := sortBy(g.pts, rps, false)
	best, _, _ := pts[0].median(rps)
	names := labels(pts)
	bars := make([]bar, len(pts))
	for i, p := range pts {
		v, _, _ := p.median(rps)
		b := bar{row: p.Row, name: names[i], value: v}
		switch {
		case !finite(v):
			b.label = p.statusIn(60) // longer would squeeze the bars
		case v == best:
			b.label = fmtSI(v) + " req/s · best"
		default:
			b.label = fmt.Sprintf("%s req/s · %.1f%%", fmtSI(v), 100*v/best)
		}
		if finite(v) && p.ok < p.Repeats {
			b.label += fmt.Sprintf(" · %d of %d repeats", p.ok, p.Repeats)
		}
		bars[i] = b
	}
	at := g.first()
	title := "Requests per second (higher is better)\n" + at.placeTitle()
	plt, h, err := barPlot(title, "requests/s, "+medianOf(pts), bars, colors)
	if err != nil {
		return nil, fmt.Errorf("rank chart %s: %w", at.placeName(), err)
	}
	return &Chart{Kind: KindRank, Name: KindRank + "-" + at.placeName(), Title: firstLine(title) + ", " + at.placeTitle(),
		Plot: plt, Width: chartWidth, Height: h}, nil
}

func cpuChart(g group, colors Colors) (*Chart, error) {
	return costChart(g, colors, costSpec{
		kind: KindCPU, measure: "Server CPU time per request", unit: "µs/req",
		xlabel: "server CPU-µs per request (user + system)",
		value:  func(c *Cell) float64 { return c.ServerCPUUsPerReq },
	})
}

func syscallsChart(g group, colors Colors) (*Chart, error) {
	return costChart(g, colors, costSpec{
		kind: KindSyscalls, measure: "Syscalls per request", unit: "syscalls/req",
		xlabel: "syscalls the server made per request", onlyMeasured: true,
		value: func(c *Cell) float64 { return c.SyscallsPerReq },
	})
}

func cqesChart(g group, colors Colors) (*Chart, error) {
	return costChart(g, colors, costSpec{
		kind: KindCQEs, measure: "CQEs per io_uring_enter", unit: "CQEs/enter",
		xlabel: "completions reaped per io_uring_enter (more is more batching)", onlyMeasured: true, higherBetter: true,
		value: func(c *Cell) float64 { return c.CQEsPerEnter },
	})
}

// costSpec describes a per-row measure drawn as ranked bars.
type costSpec struct {
	kind, measure, unit, xlabel string
	value                       func(*Cell) float64
	higherBetter                bool
	// onlyMeasured leaves out rows without the measure (a core without
	// io_uring has no CQEs) and the chart when no row has it.
	onlyMeasured bool
}

func costChart(g group, colors Colors, s costSpec) (*Chart, error) {
	// Zero is "not measured" (an external server's syscalls, a cell from
	// a run that did not record it), never a cost of nothing.
	value := func(p *point) float64 {
		if v, _, _ := p.median(s.value); finite(v) && v > 0 {
			return v
		}
		return math.NaN()
	}
	var pts []point
	for _, p := range sortBy(g.pts, s.value, !s.higherBetter) {
		if !s.onlyMeasured || finite(value(&p)) {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return nil, nil
	}
	// sortBy ranks zeros as values; put the unmeasured after the measured.
	sort.SliceStable(pts, func(i, j int) bool { return finite(value(&pts[i])) && !finite(value(&pts[j])) })
	best := value(&pts[0])
	names := labels(pts)
	bars := make([]bar, len(pts))
	for i, p := range pts {
		v := value(&p)
		b := bar{row: p.Row, name: names[i], value: v}
		switch {
		case p.ok == 0:
			b.label = p.statusIn(60) // longer would squeeze the bars
		case !finite(v):
			b.label = "not measured"
		case v == best:
			b.label = fmtSI(v) + " " + s.unit + " · best"
		case s.higherBetter:
			b.label = fmt.Sprintf("%s %s · %.1f%%", fmtSI(v), s.unit, 100*v/best)
		default:
			// Costs compare as multiples of the cheapest: "1.38×" reads as
			// "38% more CPU per request than the best".
			b.label = fmt.Sprintf("%s %s · %.2f×", fmtSI(v), s.unit, v/best)
		}
		bars[i] = b
	}
	at := g.first()
	better := "lower is better"
	if s.higherBetter {
		better = "higher is better"
	}
	title := s.measure + " (" + better + ")\n" + at.placeTitle()
	plt, h, err := barPlot(title, s.xlabel+", "+medianOf(pts), bars, colors)
	if err != nil {
		return nil, fmt.Errorf("%s chart %s: %w", s.kind, at.placeName(), err)
	}
	return &Chart{Kind: s.kind, Name: s.kind + "-" + at.placeName(), Title: firstLine(title) + ", " + at.placeTitle(),
		Plot: plt, Width: chartWidth, Height: h}, nil
}

// sortBy orders points by the median of f, ascending or descending, the
// points without a value last; ties keep matrix order.
func sortBy(pts []point, f func(*Cell) float64, ascending bool) []point {
	out := append([]point(nil), pts...)
	sort.SliceStable(out, func(i, j int) bool {
		a, _, _ := out[i].median(f)
		b, _, _ := out[j].median(f)
		switch {
		case !finite(a) || !finite(b):
			return finite(a) && !finite(b)
		case ascending:
			return a < b
		default:
			return a > b
		}
	})
	return out
}

// medianOf says what a chart's values are: "median of 3 repeats".
func medianOf(pts []point) string {
	if n := repeats(pts); n > 1 {
		return fmt.Sprintf("median of %d repeats", n)
	}
	return "one repeat"
}

func firstLine(s string) string {
	for i := range s {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// --- lines

// series is one row's line.
type series struct {
	row    string
	name   string
	xys    plotter.XYs
	errs   plotter.YErrors // absolute distances below and above, per point; nil for none
	labelY float64         // where its end label goes, after nudging
}

type errXYs struct {
	plotter.XYs
	plotter.YErrors
}

// addSeries draws each series as a line with points, error bars when it
// has them, and its name at its right end in its colour instead of a
// legend.
func addSeries(p *plot.Plot, ss []series, colors Colors, logY bool) error {
	for _, s := range ss {
		if len(s.xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return err
		}
		line.Color, line.Width = colors.of(s.row), vg.Points(1.5)
		points.Color, points.Shape, points.Radius = colors.of(s.row), draw.CircleGlyph{}, vg.Points(2.5)
		p.Add(line, points)
		if s.errs != nil {
			eb, err := plotter.NewYErrorBars(errXYs{s.xys, s.errs})
			if err != nil {
				return err
			}
			eb.Color, eb.CapWidth = colors.of(s.row), vg.Points(6)
			p.Add(eb)
		}
	}
	nudge(ss, logY)
	var xys plotter.XYs
	var texts []string
	var styles []text.Style
	for _, s := range ss {
		if len(s.xys) == 0 {
			continue
		}
		xys = append(xys, plotter.XY{X: s.xys[len(s.xys)-1].X, Y: s.labelY})
		texts = append(texts, s.name)
		styles = append(styles, textStyle(9, colors.ink(s.row), draw.XLeft, draw.YCenter))
	}
	if len(xys) == 0 {
		return nil
	}
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return err
	}
	labels.TextStyle, labels.Offset = styles, vg.Point{X: vg.Points(8)}
	p.Add(labels)
	return nil
}

// nudge moves end labels that would overlap apart: labels ending at the
// same x are spread to at least 4.5% of the axis between neighbours.
func nudge(ss []series, logY bool) {
	norm := func(v float64) float64 {
		if logY {
			return math.Log10(v)
		}
		return v
	}
	denorm := func(v float64) float64 {
		if logY {
			return math.Pow(10, v)
		}
		return v
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	byX := map[float64][]int{}
	for i := range ss {
		for _, xy := range ss[i].xys {
			lo, hi = math.Min(lo, norm(xy.Y)), math.Max(hi, norm(xy.Y))
		}
		if n := len(ss[i].xys); n > 0 {
			ss[i].labelY = norm(ss[i].xys[n-1].Y)
			x := ss[i].xys[n-1].X
			byX[x] = append(byX[x], i)
		}
	}
	sep := 0.045 * (hi - lo)
	if !(sep > 0) {
		sep = 0.045
	}
	for _, idx := range byX {
		sort.Slice(idx, func(a, b int) bool { return ss[idx[a]].labelY < ss[idx[b]].labelY })
		for k := 1; k < len(idx); k++ {
			if prev := ss[idx[k-1]].labelY; ss[idx[k]].labelY < prev+sep {
				ss[idx[k]].labelY = prev + sep
			}
		}
	}
	for i := range ss {
		ss[i].labelY = denorm(ss[i].labelY)
	}
}

// absent names, for an axis label, the rows a line chart has no line for,
// so that an absence is said rather than silent.
func absent(pts []point, ss []series) string {
	drawn := map[string]bool{}
	for _, s := range ss {
		if len(s.xys) > 0 {
			drawn[s.row] = true
		}
	}
	var missing []string
	seen := map[string]bool{}
	for _, p := range pts {
		if !drawn[p.Row] && !seen[p.Row] {
			seen[p.Row] = true
			missing = append(missing, p.Row+" ("+p.outcome()+")")
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "\nnot measured: " + strings.Join(missing, ", ")
}

// lineSpec is one line chart over a swept load parameter: a line per row,
// the parameter on the x axis, a measure of the cells on the y axis.
type lineSpec struct {
	kind    string
	dim     string // the swept parameter on the x axis: connections or pipeline
	x       func(*point) int
	y       func(*Cell) float64
	title   string // the chart's first line
	ylabel  string
	xlabel  string
	minXs   int  // fewer distinct x values than this draw no chart
	logX    bool // a log x axis when the values grow by factors
	logY    bool // a log y axis when the values fall by factors (and none is zero)
	measure bool // rows without the measure (external servers' syscalls) are left out
}

var (
	connectionsLine = lineSpec{kind: KindConnections, dim: "connections", xlabel: "connections", x: func(p *point) int { return p.conns },
		y: func(c *Cell) float64 { return c.RPS }, title: "Requests per second by connections (higher is better)",
		ylabel: "requests/s", minXs: 2, logX: true}
	// The by-depth lines tell lesson 6's story in one picture each: how
	// a request's share of the syscalls, and of the CPU, falls as more of
	// them share a read and a write.
	depthLines = []lineSpec{
		byDepth(KindRPSByDepth, "Requests per second by pipeline depth (higher is better)", "requests/s",
			func(c *Cell) float64 { return c.RPS }),
		byDepth(KindCPUByDepth, "Server CPU time per request by pipeline depth (lower is better)", "CPU-µs/req",
			func(c *Cell) float64 { return c.ServerCPUUsPerReq }),
		withLogY(byDepth(KindSyscallsByDepth, "Syscalls per request by pipeline depth (lower is better)", "syscalls/req",
			func(c *Cell) float64 { return c.SyscallsPerReq })),
	}
)

// byDepth is a line chart against the pipeline depth. A depth sweep of two
// values is two bars of the per-point charts already, so it takes three.
func byDepth(kind, title, ylabel string, y func(*Cell) float64) lineSpec {
	return lineSpec{kind: kind, dim: "pipeline", xlabel: "pipeline depth (requests per batch)",
		x: func(p *point) int { return p.pipeline }, y: y, title: title, ylabel: ylabel, minXs: 3, logX: true}
}

// withLogY is spec for a counter that falls by factors and that external
// servers do not have.
func withLogY(spec lineSpec) lineSpec {
	spec.logY, spec.measure = true, true
	return spec
}

// yRange is the lowest and highest value the series draw, error bars
// included.
func yRange(ss []series) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for i, xy := range s.xys {
			l, h := xy.Y, xy.Y
			if i < len(s.errs) {
				l, h = l-s.errs[i].Low, h+s.errs[i].High
			}
			lo, hi = math.Min(lo, l), math.Max(hi, h)
		}
	}
	return lo, hi
}

// lineChart draws spec over one group of points (those that differ only in
// spec.dim). It returns nil when the group has too few values of dim.
func lineChart(g group, colors Colors, spec lineSpec) (*Chart, error) {
	xsSeen := map[float64]bool{}
	var ss []series
	for _, pts := range groupRows(g.pts) {
		sort.SliceStable(pts, func(i, j int) bool { return spec.x(&pts[i]) < spec.x(&pts[j]) })
		s := series{row: pts[0].Row, name: pts[0].name()}
		for i := range pts {
			p := &pts[i]
			med, lo, hi := p.median(spec.y)
			if !finite(med) || spec.x(p) <= 0 || spec.measure && med <= 0 {
				continue
			}
			x := float64(spec.x(p))
			xsSeen[x] = true
			s.xys = append(s.xys, plotter.XY{X: x, Y: med})
			s.errs = append(s.errs, struct{ Low, High float64 }{med - lo, hi - med})
		}
		ss = append(ss, s)
	}
	if len(xsSeen) < spec.minXs {
		return nil, nil
	}
	var xs []float64
	for x := range xsSeen {
		xs = append(xs, x)
	}
	sort.Float64s(xs)
	at := g.first()
	title := spec.title + "\n" + at.placeTitle(spec.dim)
	// Syscalls per request fall by the depth's factor; on a linear axis
	// every depth past the second sits on the floor.
	lo, hi := yRange(ss)
	logY := spec.logY && lo > 0 && hi/lo >= 10
	xlabel, ylabel := spec.xlabel, spec.ylabel+", "+medianOf(g.pts)+"; bars: min..max"
	if logY {
		// gonum/plot makes room for the y label around the linear middle
		// of the range, near the top of a log axis: a long one would
		// squash the plot, so what it says beside the unit goes below.
		xlabel, ylabel = xlabel+"; "+medianOf(g.pts)+", bars: min..max", spec.ylabel
	}
	p := newPlot(title, xlabel+absent(g.pts, ss), ylabel)
	p.Add(gridLines(false))
	if err := addSeries(p, ss, colors, logY); err != nil {
		return nil, fmt.Errorf("%s chart %s: %w", spec.kind, at.placeName(spec.dim), err)
	}
	// Connection counts and depths usually grow by factors (16, 64, 256;
	// 1, 4, 16, 64), which a log axis spaces evenly.
	if spec.logX && xs[0] > 0 && xs[len(xs)-1]/xs[0] >= 4 {
		p.X.Scale = plot.LogScale{}
	}
	p.X.Tick.Marker = constTicks(xs)
	if logY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
		p.Y.Min, p.Y.Max = lo/1.25, hi*1.25
	} else {
		p.Y.Min = 0
	}
	return &Chart{Kind: spec.kind, Name: spec.kind + "-" + at.placeName(spec.dim),
		Title: firstLine(title) + ", " + at.placeTitle(spec.dim), Plot: p, Width: chartWidth, Height: 4.5 * vg.Inch}, nil
}

func latencyChart(g group, colors Colors) (*Chart, error) {
	var names []string
	for _, pc := range (Latency{}).Percentiles() {
		names = append(names, pc.Name)
	}
	rowNames := labels(g.pts)
	var ss []series
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range g.pts {
		s := series{row: p.Row, name: rowNames[i]}
		for k := range names {
			med, _, _ := p.median(func(c *Cell) float64 { return c.Latency.Percentiles()[k].Value })
			// A log axis has no place for zero: a percentile the loader
			// did not report is left out, not drawn at the bottom.
			if !finite(med) || med <= 0 {
				continue
			}
			s.xys = append(s.xys, plotter.XY{X: float64(k), Y: med})
			lo, hi = math.Min(lo, med), math.Max(hi, med)
		}
		ss = append(ss, s)
	}
	if !(lo <= hi) {
		return nil, nil
	}
	at := g.first()
	title := "Latency percentiles, µs on a log scale (lower is better)\n" + at.placeTitle()
	p := newPlot(title, "percentile, "+medianOf(g.pts)+" each"+absent(g.pts, ss), "latency (µs)")
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
	p.Add(gridLines(false))
	if err := addSeries(p, ss, colors, true); err != nil {
		return nil, fmt.Errorf("latency chart %s: %w", at.placeName(), err)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.2, float64(len(names)-1)+0.2
	// Room above and below so that the lines do not sit on the frame, and
	// labels nudged upwards stay inside.
	p.Y.Min, p.Y.Max = lo/1.25, math.Max(hi*1.6, p.Y.Max*1.15)
	return &Chart{Kind: KindLatency, Name: KindLatency + "-" + at.placeName(), Title: firstLine(title) + ", " + at.placeTitle(),
		Plot: p, Width: chartWidth, Height: 4.5 * vg.Inch}, nil
}
