package results

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart kinds, the first part of every chart's file name.
const (
	KindRank        = "rank"         // requests/s per row, best first
	KindConnections = "rps-by-conns" // requests/s against connections, a line per row
	// Against the pipeline depth, a line per row.
	KindRPSByDepth      = "rps-by-depth"
	KindCPUByDepth      = "cpu-by-depth"
	KindSyscallsByDepth = "syscalls-by-depth"
	KindCPU             = "cpu"      // server CPU-µs per request per row, lowest first
	KindLatency         = "latency"  // latency percentiles, a line per row
	KindSyscalls        = "syscalls" // syscalls per request per row
	KindCQEs            = "cqes"     // CQEs per io_uring_enter per row
	KindHeatCPU         = "heat-cpu" // server CPU-µs per request over two swept knobs, one row
	KindHeatRPS         = "heat-rps" // requests/s over two swept knobs, one row
)

// Kinds are all the kinds of chart, each the beginning of its charts'
// names.
var Kinds = []string{KindRank, KindConnections, KindRPSByDepth, KindCPUByDepth, KindSyscallsByDepth,
	KindCPU, KindLatency, KindSyscalls, KindCQEs, KindHeatCPU, KindHeatRPS}

// Chart is one chart of a run, laid out and ready to draw.
type Chart struct {
	Kind string
	// Name is the file name without extension, stable from one render of
	// a run to the next: kind, test, then where in the sweep
	// (rank-plaintext-c256-p16, heat-cpu-plaintext-c256-p1-uring-cqe_batch-x-buf_entries).
	Name          string
	Title         string // what is measured, in one line
	Plot          *plot.Plot
	Width, Height vg.Length
}

// PNGDPI is the resolution of the PNG charts.
const PNGDPI = 96

// PNG draws the chart as a PNG image.
func (c *Chart) PNG() ([]byte, error) {
	return c.draw(func() vg.CanvasWriterTo {
		return vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(c.Width, c.Height), vgimg.UseDPI(PNGDPI),
			vgimg.UseBackgroundColor(color.White))}
	})
}

// SVG draws the chart as an SVG document. Fonts are named, not embedded:
// the report maps them to metric-compatible ones (Liberation Sans is
// Arial's metrics), which keeps each chart a few kilobytes.
func (c *Chart) SVG() ([]byte, error) {
	return c.draw(func() vg.CanvasWriterTo { return vgsvg.New(c.Width, c.Height) })
}

func (c *Chart) draw(canvas func() vg.CanvasWriterTo) (out []byte, err error) {
	// gonum/plot panics on some inputs rather than returning an error (a
	// value at or below zero on a log axis, an inverted range, a canvas of
	// no size); one chart that cannot be drawn must not take the report
	// down with it.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("chart %s could not be drawn: %v", c.Name, r)
		}
	}()
	if c.Plot == nil {
		return nil, fmt.Errorf("chart %s has no plot", c.Name)
	}
	cv := canvas()
	// A margin, so that tick labels and titles do not touch the edge.
	const m = 8
	c.Plot.Draw(draw.Crop(draw.New(cv), m, -m, m, -m))
	var b bytes.Buffer
	if _, err := cv.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("chart %s: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

// Colors gives each row its colour, the same in every chart of a run, so
// that a row is recognised at a glance from one chart to the next.
type Colors map[string]color.Color

// rowPalette is Tableau 10: distinct, readable on white, and familiar.
var rowPalette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff}, {0x59, 0xa1, 0x4f, 0xff},
	{0xb0, 0x7a, 0xa1, 0xff}, {0x76, 0xb7, 0xb2, 0xff}, {0x9c, 0x75, 0x5f, 0xff}, {0xff, 0x9d, 0xa7, 0xff},
	{0xed, 0xc9, 0x48, 0xff}, {0xba, 0xb0, 0xac, 0xff},
}

// RowColors assigns colours to rows in the order they first appear in the
// matrix (by Index, then by row name), so a run's colours do not depend on
// which cells have finished yet.
//
// Reference peers (Cell.Peer) take greys instead, so that the cores stand
// out and the peers read as the background they are compared against.
func RowColors(cells []Cell) Colors {
	first := map[string]int{}
	peers := map[string]bool{}
	for _, c := range cells {
		if i, ok := first[c.Row]; !ok || c.Index < i {
			first[c.Row] = c.Index
		}
		peers[c.Row] = peers[c.Row] || c.Peer
	}
	rows := sortedKeys(first)
	sort.SliceStable(rows, func(i, j int) bool { return first[rows[i]] < first[rows[j]] })
	cs := Colors{}
	cores, others := 0, 0
	for _, r := range rows {
		if peers[r] {
			cs[r] = peerPalette[others%len(peerPalette)]
			others++
		} else {
			cs[r] = rowPalette[cores%len(rowPalette)]
			cores++
		}
	}
	return cs
}

// peerPalette is the peers' greys, dark enough apart to tell two peers.
var peerPalette = []color.RGBA{{0x6b, 0x6b, 0x6b, 0xff}, {0xa8, 0xa8, 0xa8, 0xff}, {0x3d, 0x3d, 0x3d, 0xff}, {0xc8, 0xc8, 0xc8, 0xff}}

var (
	grey     = color.RGBA{0x88, 0x88, 0x88, 0xff}
	darkGrey = color.RGBA{0x55, 0x55, 0x55, 0xff}
	gridGrey = color.RGBA{0xd4, 0xd4, 0xd4, 0xff}
)

func (cs Colors) of(row string) color.Color {
	if c, ok := cs[row]; ok {
		return c
	}
	return grey
}

// ink is a row's colour made dark enough for text on white.
func (cs Colors) ink(row string) color.Color {
	r, g, b, _ := cs.of(row).RGBA()
	const f = 0.7
	return color.RGBA{uint8(float64(r>>8) * f), uint8(float64(g>>8) * f), uint8(float64(b>>8) * f), 0xff}
}

// dark reports a colour on which white text reads better than black.
func dark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return 0.299*float64(r>>8)+0.587*float64(g>>8)+0.114*float64(b>>8) < 140
}

// sans is the charts' font: gonum's embedded Liberation Sans, so a chart
// draws the same on every machine (the golden images depend on it).
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func textStyle(size vg.Length, c color.Color, x text.XAlignment, y text.YAlignment) text.Style {
	return text.Style{Color: c, Font: font.From(sans, size), XAlign: x, YAlign: y, Handler: plot.DefaultTextHandler}
}

// newPlot is a plot in the house style: the title says what is measured
// and where, the axes say their units.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 12)
	p.Title.Padding = vg.Points(10)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
		a.Tick.Marker = siTicks{plot.DefaultTicks{}}
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.Legend.TextStyle.Font = font.From(sans, 9)
	return p
}

// siTicks labels ticks 500k, 1.5M rather than 1.5e+06.
type siTicks struct{ plot.Ticker }

func (t siTicks) Ticks(min, max float64) []plot.Tick {
	ts := t.Ticker.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = fmtTick(ts[i].Value)
		}
	}
	return ts
}

// fmtTick is fmtSI without trailing zeros: round numbers on an axis.
func fmtTick(v float64) string {
	s := fmtSI(v)
	num := strings.TrimRight(s, "kMG")
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + s[len(strings.TrimRight(s, "kMG")):]
}

// gridLines is a light grid along one axis, for reading values across.
func gridLines(vertical bool) *plotter.Grid {
	g := plotter.NewGrid()
	line := draw.LineStyle{Color: gridGrey, Width: vg.Points(0.6)}
	if vertical {
		g.Vertical, g.Horizontal.Color = line, nil
	} else {
		g.Horizontal, g.Vertical.Color = line, nil
	}
	return g
}

// logTicks marks a log axis at 1, 2 and 5 of each decade when it spans a
// few, at each power of ten otherwise, with minor ticks between.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) || !finite(min) || !finite(max) {
		return nil
	}
	major := map[int]bool{1: true, 2: true, 5: true}
	if max/min > 1e3 {
		major = map[int]bool{1: true}
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := base * float64(m)
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if major[m] {
				t.Label = fmtTick(v)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// constTicks labels exactly the values given (connections 16, 64, 256).
func constTicks(vals []float64) plot.ConstantTicks {
	ts := make(plot.ConstantTicks, len(vals))
	for i, v := range vals {
		ts[i] = plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)}
	}
	return ts
}

// chartWidth is the width of every chart but heat maps: wide enough for a
// label after the longest bar, narrow enough for the report's column.
const chartWidth = 7.5 * vg.Inch
