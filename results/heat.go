package results

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatMetric is what a heat map colours its cells by.
type HeatMetric int

const (
	HeatCPU HeatMetric = iota // server CPU-µs per request: darker costs more
	HeatRPS                   // requests per second: darker serves more
)

func (m HeatMetric) spec() (kind, measure, note, pal string, value func(*Cell) float64) {
	if m == HeatRPS {
		return KindHeatRPS, "Requests per second", "darker is faster", "YlGnBu",
			func(c *Cell) float64 { return c.RPS }
	}
	return KindHeatCPU, "Server CPU-µs per request", "darker costs more", "YlOrRd",
		func(c *Cell) float64 { return c.ServerCPUUsPerReq }
}

// HeatmapChart draws one row's measure over two swept knobs, x and y,
// with the value printed in each cell. cells are one row's at one
// combination of the other sweep values; it returns nil when they do not
// sweep both knobs.
func HeatmapChart(cells []Cell, x, y string, m HeatMetric) (*Chart, error) {
	if x == y {
		return nil, fmt.Errorf("heat map: x and y are both %q; give two different swept knobs", x)
	}
	pts := pointsOf(cells)
	if rows := groupRows(pts); len(rows) > 1 {
		return nil, fmt.Errorf("heat map: cells of %d rows (%s, %s, ...); a heat map shows one row's, give those",
			len(rows), rows[0][0].Row, rows[1][0].Row)
	}
	return heatChart(pts, x, y, m)
}

// heatGrid is the values of a heat map, z[column][row], NaN where nothing
// was measured.
type heatGrid [][]float64

func (g heatGrid) Dims() (c, r int)   { return len(g), len(g[0]) }
func (g heatGrid) Z(c, r int) float64 { return g[c][r] }
func (g heatGrid) X(c int) float64    { return float64(c) }
func (g heatGrid) Y(r int) float64    { return float64(r) }
func (g heatGrid) Min() (v float64)   { v, _ = g.span(); return v }
func (g heatGrid) Max() (v float64)   { _, v = g.span(); return v }
func (g heatGrid) span() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, col := range g {
		for _, v := range col {
			if finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	// gonum's heat map panics when min > max and colours nothing when
	// they are equal; an empty or flat grid gets a range of its own.
	switch {
	case lo > hi:
		return 0, 1
	case lo == hi:
		return lo, lo + math.Max(math.Abs(lo), 1)
	}
	return lo, hi
}

func heatChart(pts []point, xdim, ydim string, m HeatMetric) (*Chart, error) {
	if len(pts) == 0 {
		return nil, nil
	}
	xs, ys := dimValues(pts, xdim), dimValues(pts, ydim)
	if len(xs) < 2 || len(ys) < 2 {
		return nil, nil
	}
	kind, measure, note, palName, value := m.spec()
	at := map[[2]string]*point{}
	for i := range pts {
		at[[2]string{pts[i].knobs[xdim], pts[i].knobs[ydim]}] = &pts[i]
	}
	grid := make(heatGrid, len(xs))
	for c, xv := range xs {
		grid[c] = make([]float64, len(ys))
		for r, yv := range ys {
			grid[c][r] = math.NaN()
			if p := at[[2]string{xv, yv}]; p != nil {
				if v, _, _ := p.median(value); finite(v) && (v > 0 || m == HeatRPS) {
					grid[c][r] = v
				}
			}
		}
	}
	pal, err := brewer.GetPalette(brewer.TypeAny, palName, 9)
	if err != nil {
		pal = palette.Heat(9, 1)
	}
	hm := plotter.NewHeatMap(grid, pal)
	hm.NaN = color.RGBA{0xee, 0xee, 0xee, 0xff}

	var xys plotter.XYs
	var texts []string
	var styles []text.Style
	colors := pal.Colors()
	for c := range xs {
		for r, yv := range ys {
			v := grid[c][r]
			label, ink := fmtSI(v), color.Color(color.Black)
			if !finite(v) {
				label, ink = "–", darkGrey
				if p := at[[2]string{xs[c], yv}]; p != nil && p.ok == 0 {
					label = p.outcome() // the reason is in the report's table; a cell has room for a word
				}
			} else if dark(colors[int((v-hm.Min)*float64(len(colors)-1)/(hm.Max-hm.Min)+0.5)]) {
				ink = color.White
			}
			xys = append(xys, plotter.XY{X: float64(c), Y: float64(r)})
			texts = append(texts, label)
			styles = append(styles, textStyle(10, ink, draw.XCenter, draw.YCenter))
		}
	}
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
	if err != nil {
		return nil, err
	}
	labels.TextStyle = styles

	first := &pts[0]
	where := first.Row + ": " + first.placeTitle(xdim, ydim)
	title := measure + " (" + note + ")\n" + where
	p := newPlot(title, xdim, ydim)
	p.Add(hm, labels)
	p.NominalX(xs...)
	p.NominalY(ys...)
	p.X.Min, p.X.Max = -0.5, float64(len(xs))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(ys))-0.5
	name := fmt.Sprintf("%s-%s-%s-%s-x-%s", kind, first.placeName(xdim, ydim), fileSafe(first.Row), xdim, ydim)
	w := max(5*vg.Inch, vg.Points(160)+vg.Points(64)*vg.Length(len(xs)))
	h := max(3.5*vg.Inch, vg.Points(120)+vg.Points(36)*vg.Length(len(ys)))
	return &Chart{Kind: kind, Name: fileSafe(name), Title: measure + ", " + where, Plot: p, Width: w, Height: h}, nil
}
