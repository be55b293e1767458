package results

import (
	"bytes"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// renderTestDir makes a run directory holding cells and, unless left out, an
// experiment file and env.json.
func renderTestDir(t *testing.T, cells []Cell, experiment bool, env bool) *Dir {
	t.Helper()
	d := &Dir{Path: t.TempDir()}
	for i := range cells {
		if err := d.Append(&cells[i]); err != nil {
			t.Fatal(err)
		}
	}
	if experiment {
		src := "name: demo\ndescription: |\n  Every core on plaintext, <pipelined> & compared.\nworkload:\n  path: /plaintext\n"
		if err := os.WriteFile(d.File(ExperimentFile), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if env {
		probe := `{"kernel":"6.1.0","io_uring_enabled":true,"features":["SINGLE_MMAP","NODROP"],"ops":["NOP","READV","RECV"],` +
			`"unsupported_ops":["FUTEX_WAIT"],"setup_flags":[{"flags":"SQPOLL","accepted":true},{"flags":"DEFER_TASKRUN","accepted":false,"error":"invalid argument"}],` +
			`"rlimit_memlock":{"soft":"8388608","hard":"8388608"},"rlimit_nofile":{"soft":"1024","hard":"524288"}}`
		e := Env{Started: time.Unix(1700000000, 0), Hostname: "lab1", Kernel: "6.1.0-18-amd64", OS: "linux", Arch: "amd64",
			CPUModel: "Example CPU @ 2.0GHz", CPUs: 2, MemoryBytes: 4 << 30, GoVersion: "go1.26.0", Iolab: "v0.1.0",
			Command: []string{"iolab", "run", "experiments/demo.yaml"}, ServerCPUs: "0", LoaderCPUs: "1", IOURingProbe: []byte(probe)}
		if err := d.WriteJSON(EnvFile, e); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func reportHas(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestRenderFull(t *testing.T) {
	d := renderTestDir(t, sampleCells(), true, true)
	files, err := RenderFiles(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || files[0] != d.File(ReportFile) {
		t.Fatalf("files %v: want report.html first", files)
	}
	for _, name := range []string{ReportFile, CSVFile, BenchFile, "rank-plaintext-c256-p16.png", "rank-plaintext-c256-p16.svg",
		"cpu-plaintext-c256-p16.svg", "latency-plaintext-c256-p16.png"} {
		st, err := os.Stat(d.File(name))
		if err != nil {
			t.Errorf("not written: %v", err)
		} else if st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", name, st.Mode().Perm())
		}
	}
	html := readText(t, d.File(ReportFile))
	reportHas(t, "report.html", html,
		"<title>demo · iolab report</title>",
		"Every core on plaintext, &lt;pipelined&gt; &amp; compared.", // the description, escaped
		"<h3>plaintext</h3>", "<th>connections</th>", "1.10M",        // a table of medians
		"did not start", "nginx: not found", // the failure and the server's stderr
		"lab1", "6.1.0-18-amd64", "iolab run experiments/demo.yaml", // env.json
		"allowed", "SINGLE_MMAP, NODROP", "DEFER_TASKRUN", "refused (invalid argument)", "soft 1024, hard 524288", // the probe
		"name: demo", "&lt;pipelined&gt;", // the experiment file
		`<svg role="img" aria-label="Requests per second`, // charts, inline
	)
	if strings.Contains(html, "<?xml") || strings.Contains(html, "<script") {
		t.Error("report.html has an XML prolog or a script")
	}
	if n := strings.Count(html, "<svg"); n != len(files)/2-1 {
		t.Errorf("%d inline SVGs for %d files", n, len(files))
	}
}

// TestRenderIdempotent: rendering again writes the same bytes, and a
// chart an earlier render made that the data no longer calls for goes,
// while files Render does not make stay.
func TestRenderIdempotent(t *testing.T) {
	d := renderTestDir(t, sampleCells(), true, true)
	first, err := RenderFiles(d)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	for _, f := range first {
		before[f] = readText(t, f)
	}
	stale, mine := d.File("rank-plaintext-c999-p1.png"), d.File("notes.png")
	os.WriteFile(stale, []byte("old"), 0o644)
	os.WriteFile(mine, []byte("keep"), 0o644)
	second, err := RenderFiles(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(first, "\n") != strings.Join(second, "\n") {
		t.Fatalf("files differ:\n%v\n%v", first, second)
	}
	for _, f := range second {
		if readText(t, f) != before[f] {
			t.Errorf("%s changed between two renders of the same data", filepath.Base(f))
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale chart was kept")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error("a file Render does not make was removed")
	}
}

func TestRenderZeroCells(t *testing.T) {
	d := renderTestDir(t, nil, true, true)
	if _, err := RenderFiles(d); err != nil {
		t.Fatal(err)
	}
	html := readText(t, d.File(ReportFile))
	reportHas(t, "report.html", html, "No cells", "No results yet", "No charts", "<title>demo")
}

func TestRenderOnlyFailed(t *testing.T) {
	var cells []Cell
	for i, row := range []string{"uring", "epoll"} {
		for rep := 1; rep <= 2; rep++ {
			sweep := map[string]string{"connections": "64"}
			status, reason := StatusFailed, "server died: signal: killed"
			if row == "uring" {
				status, reason = StatusSkipped, "io_uring refused: kernel.io_uring_disabled=2"
			}
			cells = append(cells, Cell{Experiment: "broken", Key: MakeKey(row, sweep), Index: i, Repeat: rep, Row: row,
				Sweep: sweep, Test: "json", Connections: 64, Pipeline: 1, Status: status, Reason: reason,
				Stderr: "panic: <boom>\n\ngoroutine 1 [running]:"})
		}
	}
	d := renderTestDir(t, cells, false, false)
	files, err := RenderFiles(d)
	if err != nil {
		t.Fatal(err)
	}
	html := readText(t, d.File(ReportFile))
	reportHas(t, "report.html", html, "<title>broken", "skipped: io_uring refused", "failed: server died",
		"panic: &lt;boom&gt;", "rank-json-c64-p1", "0 of 2")
	if _, err := os.Stat(d.File("rank-json-c64-p1.png")); err != nil {
		t.Errorf("no ranking of the failures: %v (wrote %v)", err, files)
	}
}

func TestRenderOneRow(t *testing.T) {
	cells := []Cell{{Experiment: "one", Key: MakeKey("netstd", nil), Repeat: 1, Row: "netstd", Test: "plaintext",
		Connections: 256, Pipeline: 1, Status: StatusOK, Seconds: 1, Requests: 1000, RPS: 1000, ServerCPUUsPerReq: 3,
		Latency: Latency{P50: 50, P99: 400, Max: 900}}}
	d := renderTestDir(t, cells, true, true)
	if _, err := RenderFiles(d); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"rank-plaintext-c256-p1.png", "cpu-plaintext-c256-p1.png", "latency-plaintext-c256-p1.png"} {
		if _, err := os.Stat(d.File(name)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(d.File("rps-by-conns-plaintext-p1.png")); err == nil {
		t.Error("a connections chart from one connection count")
	}
}

// TestRenderMissingFiles: a run without env.json or experiment.yaml is
// rendered and the report says what is missing.
func TestRenderMissingFiles(t *testing.T) {
	d := renderTestDir(t, sampleCells(), false, false)
	if _, err := RenderFiles(d); err != nil {
		t.Fatal(err)
	}
	html := readText(t, d.File(ReportFile))
	reportHas(t, "report.html", html, "env.json is missing", "experiment.yaml is missing", "<title>demo", "Not kept with this run")

	// Present but unreadable is said too.
	os.WriteFile(d.File(EnvFile), []byte("{not json"), 0o644)
	os.WriteFile(d.File(ExperimentFile), []byte("name: [unclosed"), 0o644)
	if _, err := RenderFiles(d); err != nil {
		t.Fatal(err)
	}
	html = readText(t, d.File(ReportFile))
	reportHas(t, "report.html", html, "env.json could not be read", "experiment.yaml is not valid YAML", "name: [unclosed")
}

// TestRenderOldRun: cells from an older run, without the fields a newer
// runner writes (index, sweep, test, latency, CPU), still render.
func TestRenderOldRun(t *testing.T) {
	d := &Dir{Path: t.TempDir()}
	old := `{"experiment":"old","key":"row=netstd","repeat":1,"row":"netstd","status":"ok","rps":5000}
{"experiment":"old","key":"row=epoll","repeat":1,"row":"epoll","status":"ok","rps":7000,"connections":16}
{"experiment":"old","key":"row=gone","repeat":1,"row":"gone","status":"failed"}
`
	os.WriteFile(d.File(CellsFile), []byte(old), 0o644)
	if _, err := RenderFiles(d); err != nil {
		t.Fatal(err)
	}
	html := readText(t, d.File(ReportFile))
	reportHas(t, "report.html", html, "<title>old", "5000", "7000", "failed")
}

func TestRenderBadCells(t *testing.T) {
	d := &Dir{Path: t.TempDir()}
	os.WriteFile(d.File(CellsFile), []byte("{bad\n{\"key\":\"k\",\"row\":\"r\",\"repeat\":1,\"status\":\"ok\"}\n"), 0o644)
	if err := Render(d); err == nil || !strings.Contains(err.Error(), "cells.jsonl:1") {
		t.Fatalf("err %v: want one naming the bad line", err)
	}
	if err := Render(&Dir{Path: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Fatal("rendered a directory that does not exist")
	}
}

// TestChartsNaN: values that are not numbers (which JSON cannot carry,
// but code can) and zeros on log axes give charts, not panics.
func TestChartsNaN(t *testing.T) {
	nan := math.NaN()
	var cells []Cell
	for i, row := range []string{"a", "b", "c"} {
		for _, conns := range []int{16, 64} {
			for _, knobs := range [][2]string{{"1", "x"}, {"2", "x"}, {"1", "y"}, {"2", "y"}} {
				if conns == 64 && knobs != [2]string{"1", "x"} {
					continue // enough for a connections chart; each chart drawn costs time
				}
				sweep := map[string]string{"connections": strconv.Itoa(conns), "k1": knobs[0], "k2": knobs[1]}
				c := Cell{Key: MakeKey(row, sweep), Index: i, Repeat: 1, Row: row, Sweep: sweep, Test: "t",
					Connections: conns, Status: StatusOK, RPS: nan, ServerCPUUsPerReq: math.Inf(1), SyscallsPerReq: nan,
					CQEsPerEnter: nan, Latency: Latency{P50: 0, P99: nan, Max: -1}}
				if row == "b" {
					c.RPS, c.ServerCPUUsPerReq, c.Latency.P50 = 100, 1, 10
				}
				cells = append(cells, c)
			}
		}
	}
	charts, err := Charts(cells)
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) == 0 {
		t.Fatal("no charts")
	}
	for _, c := range charts {
		if _, err := c.PNG(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if _, err := c.SVG(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
	var b bytes.Buffer
	if err := WriteBench(&b, cells); err != nil {
		t.Fatal(err)
	}
	r := buildReport(&Dir{Path: t.TempDir()}, cells, nil, nil)
	if _, err := r.html(); err != nil {
		t.Fatal(err)
	}
}

func TestChartUndrawable(t *testing.T) {
	c := &Chart{Name: "broken", Plot: nil}
	if _, err := c.PNG(); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("PNG of no plot: %v", err)
	}
	c, err := RankChart(sampleCells()[:1], nil)
	if err != nil || c == nil {
		t.Fatalf("no chart from one cell: %v", err)
	}
	c.Width = 0 // gonum panics on a canvas of no size
	if _, err := c.PNG(); err == nil || !strings.Contains(err.Error(), "could not be drawn") {
		t.Errorf("PNG of no size: %v", err)
	}
}

func TestChartNamesStable(t *testing.T) {
	p := point{test: "plaintext", conns: 256, pipeline: 16, rate: 5000, knobs: map[string]string{"taskrun": "co op", "b": "1/2"}}
	if got := p.placeName(); got != "plaintext-c256-p16-r5000-b=1_2-taskrun=co_op" {
		t.Fatalf("place name %q", got)
	}
	if got := p.placeName("connections", "b"); got != "plaintext-p16-r5000-taskrun=co_op" {
		t.Fatalf("place name without connections and b: %q", got)
	}
	charts := []*Chart{{Name: "x"}, {Name: "x"}, {Name: "y"}}
	uniqueNames(charts)
	if charts[1].Name != "x-2" || charts[2].Name != "y" {
		t.Fatalf("names %s %s", charts[1].Name, charts[2].Name)
	}
}

// TestChartNamesSeveralWorkloads: an experiment of several workloads
// sweeps "test"; it places charts as the test does (one name part, no
// test=... knob) and is no axis of a heat map.
func TestChartNamesSeveralWorkloads(t *testing.T) {
	var cells []Cell
	for _, test := range []string{"plaintext", "json"} {
		for _, j := range []string{"1", "2"} {
			for _, k := range []string{"a", "b"} {
				sweep := map[string]string{"test": test, "connections": "16", "j": j, "k": k}
				cells = append(cells, Cell{Key: MakeKey("uring", sweep), Index: len(cells), Repeat: 1, Row: "uring",
					Sweep: sweep, Test: test, Connections: 16, Pipeline: 1, Status: StatusOK, RPS: 1, ServerCPUUsPerReq: 1})
			}
		}
	}
	charts, err := Charts(cells)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range charts {
		names[c.Name] = true
		if strings.Contains(c.Name, "test=") || strings.Contains(c.Name, "-x-test") || strings.Contains(c.Title, "test=") {
			t.Errorf("chart %q (%s) treats the test as a knob", c.Name, c.Title)
		}
	}
	for _, want := range []string{"rank-plaintext-c16-p1-j=1-k=a", "cpu-json-c16-p1-j=2-k=b",
		"heat-cpu-plaintext-c16-p1-uring-j-x-k", "heat-rps-json-c16-p1-uring-j-x-k"} {
		if !names[want] {
			t.Errorf("no chart %s among %v", want, names)
		}
	}
}

func TestChartColorsConsistent(t *testing.T) {
	cells := sampleCells()
	all := RowColors(cells)
	// A chart drawn from some of the cells still colours rows as the run does.
	some := RowColors(cells[2:])
	if all["nginx"] == nil || all["epoll"] == all["uring"] {
		t.Fatalf("colors %v", all)
	}
	if some["epoll"] != all["epoll"] || some["uring"] != all["uring"] {
		t.Fatalf("colours depend on which cells are given: %v vs %v", some, all)
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1.23M", 950: "950", 12.34: "12.3", 0.6123: "0.612", 0: "0",
		15000: "15.0k", 2e9: "2.00G", math.NaN(): "–"} {
		if got := fmtSI(v); got != want {
			t.Errorf("fmtSI(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{1e6: "1M", 1.5e6: "1.5M", 500e3: "500k", 0.8: "0.8", 20: "20"} {
		if got := fmtTick(v); got != want {
			t.Errorf("fmtTick(%v) = %q, want %q", v, got, want)
		}
	}
	if got := fmtMicros(1500); got != "1.50 ms" {
		t.Errorf("fmtMicros(1500) = %q", got)
	}
}

// Peers are marked wherever a row is named, and drawn in greys, apart
// from the cores.
func TestPeersMarked(t *testing.T) {
	cells := sampleCells()
	for i := range cells {
		if cells[i].Row == "epoll" {
			cells[i].Peer = true
		}
	}
	colors := RowColors(cells)
	if !slices.Contains(peerPalette, colors["epoll"].(color.RGBA)) {
		t.Fatalf("the peer's colour %v is not a grey", colors["epoll"])
	}
	if colors["uring"] == colors["epoll"] {
		t.Fatal("a core shares a peer's colour")
	}
	d := renderTestDir(t, cells, true, false)
	if _, err := RenderFiles(d); err != nil {
		t.Fatal(err)
	}
	html := readText(t, d.File(ReportFile))
	reportHas(t, "report.html", html, "<td>epoll"+PeerMark+"</td>", "<td>uring</td>")
}
