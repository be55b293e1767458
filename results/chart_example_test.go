package results_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gonum.org/v1/plot/cmpimg"

	"iolab/results"
)

// Each example draws one kind of chart from a small fixed data set and
// checks its PNG against testdata/golden/<chart name>.png. Charts are
// tested like code: a change in layout shows up as a failing example.
//
// To accept a change, look at the new images and rewrite the goldens:
//
//	IOLAB_REGEN_GOLDEN=1 go test ./results/ -run Example
//
// On a mismatch the example prints where it saved the new image and the
// difference, under $IOLAB_ARTIFACTS if set.

// goldenDelta is how far a pixel may drift (cmpimg's YIQ distance, 0..1):
// enough for the anti-aliasing of another CPU's floating point, far too
// little for anything to move.
const goldenDelta = 0.05

// checkGolden compares a chart with its golden image and prints what is
// wrong, so that the example's output check fails saying it.
func checkGolden(c *results.Chart) {
	got, err := c.PNG()
	if err != nil {
		fmt.Println(err)
		return
	}
	golden := filepath.Join("testdata", "golden", c.Name+".png")
	if os.Getenv("IOLAB_REGEN_GOLDEN") != "" {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			fmt.Println(err)
		} else if err := os.WriteFile(golden, got, 0o644); err != nil {
			fmt.Println(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		fmt.Printf("no golden image (IOLAB_REGEN_GOLDEN=1 go test ./results/ -run Example makes it): %v\n", err)
		return
	}
	same, err := cmpimg.EqualApprox("png", got, want, goldenDelta)
	if err != nil {
		fmt.Printf("comparing with %s: %v\n", golden, err)
		return
	}
	if !same {
		fmt.Printf("%s differs from %s; %s\n", c.Name, golden, saveMismatch(c.Name, got, want))
	}
}

// saveMismatch keeps the new image and the difference for a person to
// look at, and says where.
func saveMismatch(name string, got, want []byte) string {
	dir := os.Getenv("IOLAB_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err.Error()
	}
	gotPath := filepath.Join(dir, name+".got.png")
	if err := os.WriteFile(gotPath, got, 0o644); err != nil {
		return err.Error()
	}
	g, _, err1 := image.Decode(bytes.NewReader(got))
	w, _, err2 := image.Decode(bytes.NewReader(want))
	if err1 != nil || err2 != nil {
		return "new image at " + gotPath
	}
	diff := image.NewRGBA64(g.Bounds().Union(w.Bounds()))
	cmpimg.Diff(diff, g, w)
	var b bytes.Buffer
	diffPath := filepath.Join(dir, name+".diff.png")
	if png.Encode(&b, diff) == nil && os.WriteFile(diffPath, b.Bytes(), 0o644) == nil {
		return "new image at " + gotPath + ", difference at " + diffPath
	}
	return "new image at " + gotPath
}

// exampleRun is a small experiment: three cores and an external server
// that fails to start, at 64 and 256 connections, pipeline 16, three
// repeats.
func exampleRun() []results.Cell {
	type row struct {
		name          string
		rps, cpu, sys float64
		cqes          float64
		p99           float64
	}
	rows := []row{
		{"netstd", 410e3, 2.1, 2.05, 0, 2400},
		{"epoll", 620e3, 1.3, 1.02, 0, 1500},
		{"uring", 700e3, 0.9, 0.14, 9.5, 1300},
	}
	var cells []results.Cell
	order := 0
	for rep := 1; rep <= 3; rep++ {
		index := 0
		for _, conns := range []int{64, 256} {
			scale := float64(conns) / 256
			drift := 1 + 0.02*float64(rep-2) // repeats differ a little, as they do
			for _, r := range rows {
				sweep := map[string]string{"connections": strconv.Itoa(conns)}
				rps := r.rps * (0.6 + 0.4*scale) * drift
				cells = append(cells, results.Cell{
					Experiment: "example", Key: results.MakeKey(r.name, sweep), Index: index, Order: order, Repeat: rep,
					Row: r.name, Model: r.name, Sweep: sweep, Test: "plaintext", Connections: conns, Pipeline: 16,
					Loader: "builtin", Status: results.StatusOK, Started: time.Unix(1700000000, 0).UTC(), Seconds: 5,
					Requests: uint64(rps * 5), RPS: rps, ServerCPUUsPerReq: r.cpu * drift, ClientCPUUsPerReq: 0.6,
					SyscallsPerReq: r.sys, CQEsPerEnter: r.cqes,
					Latency: results.Latency{P50: r.p99 / 6 * scale, P75: r.p99 / 4 * scale, P90: r.p99 / 2.5 * scale,
						P99: r.p99 * scale * drift, P999: r.p99 * 2 * scale, P9999: r.p99 * 3.5 * scale, Max: r.p99 * 6 * scale},
				})
				index++
				order++
			}
			sweep := map[string]string{"connections": strconv.Itoa(conns)}
			cells = append(cells, results.Cell{
				Experiment: "example", Key: results.MakeKey("nginx", sweep), Index: index, Order: order, Repeat: rep,
				Row: "nginx", External: true, Peer: true, Sweep: sweep, Test: "plaintext", Connections: conns, Pipeline: 16,
				Status: results.StatusFailed, Reason: "did not start: exit status 1",
				Stderr: "nginx: [emerg] bind() to 127.0.0.1:8080 failed (98: Address already in use)",
			})
			index++
			order++
		}
	}
	return cells
}

// atConns keeps the cells at one number of connections.
func atConns(cells []results.Cell, conns int) []results.Cell {
	var out []results.Cell
	for _, c := range cells {
		if c.Connections == conns {
			out = append(out, c)
		}
	}
	return out
}

// exampleKnobs is uring swept over two knobs, one repeat each, with one
// cell that failed.
func exampleKnobs() []results.Cell {
	var cells []results.Cell
	index := 0
	for _, batch := range []int{1, 16, 64} {
		for _, entries := range []int{64, 512} {
			sweep := map[string]string{"cqe_batch": strconv.Itoa(batch), "buf_entries": strconv.Itoa(entries)}
			c := results.Cell{Experiment: "knobs", Key: results.MakeKey("uring", sweep), Index: index, Order: index, Repeat: 1,
				Row: "uring", Model: "uring", Sweep: sweep, Knobs: sweep, Test: "plaintext", Connections: 256, Pipeline: 1,
				Status: results.StatusOK, Seconds: 5,
				RPS:               500e3 + 4e3*float64(batch) + 100*float64(entries),
				ServerCPUUsPerReq: 1.6 - 0.25*float64(len(strconv.Itoa(batch))) - float64(entries)/4000}
			if batch == 64 && entries == 64 {
				c.Status, c.Reason, c.RPS, c.ServerCPUUsPerReq = results.StatusFailed, "buffer ring exhausted (ENOBUFS)", 0, 0
			}
			cells = append(cells, c)
			index++
		}
	}
	return cells
}

func ExampleRankChart() {
	chart, err := results.RankChart(atConns(exampleRun(), 256), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(chart.Name)
	checkGolden(chart)
	// Output: rank-plaintext-c256-p16
}

func ExampleConnectionsChart() {
	chart, err := results.ConnectionsChart(exampleRun(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(chart.Name)
	checkGolden(chart)
	// Output: rps-by-conns-plaintext-p16
}

func ExampleCPUChart() {
	chart, err := results.CPUChart(atConns(exampleRun(), 256), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(chart.Name)
	checkGolden(chart)
	// Output: cpu-plaintext-c256-p16
}

func ExampleLatencyChart() {
	chart, err := results.LatencyChart(atConns(exampleRun(), 256), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(chart.Name)
	checkGolden(chart)
	// Output: latency-plaintext-c256-p16
}

func ExampleSyscallsChart() {
	chart, err := results.SyscallsChart(atConns(exampleRun(), 256), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(chart.Name)
	checkGolden(chart)
	// Output: syscalls-plaintext-c256-p16
}

func ExampleCQEsChart() {
	chart, err := results.CQEsChart(atConns(exampleRun(), 256), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(chart.Name)
	checkGolden(chart)
	// Output: cqes-plaintext-c256-p16
}

func ExampleHeatmapChart() {
	for _, m := range []results.HeatMetric{results.HeatCPU, results.HeatRPS} {
		chart, err := results.HeatmapChart(exampleKnobs(), "cqe_batch", "buf_entries", m)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(chart.Name)
		checkGolden(chart)
	}
	// Output:
	// heat-cpu-plaintext-c256-p1-uring-cqe_batch-x-buf_entries
	// heat-rps-plaintext-c256-p1-uring-cqe_batch-x-buf_entries
}

// exampleDepths is the three cores at four pipeline depths, three repeats
// each: a request's share of the syscalls falls with the depth.
func exampleDepths() []results.Cell {
	type row struct {
		name          string
		rps, cpu, sys float64 // at depth 1
	}
	rows := []row{{"netstd", 90e3, 9.5, 3.1}, {"epoll", 120e3, 7.0, 2.0}, {"uring", 130e3, 6.6, 1.1}}
	var cells []results.Cell
	order := 0
	for rep := 1; rep <= 3; rep++ {
		index := 0
		drift := 1 + 0.02*float64(rep-2)
		for _, depth := range []int{1, 4, 16, 64} {
			for _, r := range rows {
				sweep := map[string]string{"pipeline": strconv.Itoa(depth)}
				share := 1 / math.Sqrt(float64(depth)) // what a request still pays of a batch's cost
				cells = append(cells, results.Cell{
					Experiment: "depths", Key: results.MakeKey(r.name, sweep), Index: index, Order: order, Repeat: rep,
					Row: r.name, Model: r.name, Sweep: sweep, Test: "plaintext", Connections: 256, Pipeline: depth,
					Status: results.StatusOK, Seconds: 5, RPS: r.rps / share * drift,
					ServerCPUUsPerReq: r.cpu * share * drift, SyscallsPerReq: r.sys / float64(depth)})
				index++
				order++
			}
		}
	}
	return cells
}

// ExampleDepthCharts draws lesson 6's pictures: requests/s, CPU and
// syscalls per request against the pipeline depth.
func ExampleDepthCharts() {
	charts, err := results.DepthCharts(exampleDepths(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range charts {
		fmt.Println(c.Name)
		checkGolden(c)
	}
	// Output:
	// rps-by-depth-plaintext-c256
	// cpu-by-depth-plaintext-c256
	// syscalls-by-depth-plaintext-c256
}

// ExampleCharts lists what a run's charts are called: kind, test, then
// where in the sweep.
func ExampleCharts() {
	charts, err := results.Charts(exampleRun())
	if err != nil {
		fmt.Println(err)
	}
	for _, c := range charts {
		fmt.Println(c.Name)
	}
	// Output:
	// rank-plaintext-c64-p16
	// rank-plaintext-c256-p16
	// rps-by-conns-plaintext-p16
	// cpu-plaintext-c64-p16
	// cpu-plaintext-c256-p16
	// latency-plaintext-c64-p16
	// latency-plaintext-c256-p16
	// syscalls-plaintext-c64-p16
	// syscalls-plaintext-c256-p16
	// cqes-plaintext-c64-p16
	// cqes-plaintext-c256-p16
}
