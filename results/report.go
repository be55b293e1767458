package results

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

//go:embed report.html.tmpl
var reportSource string

var reportTemplate = template.Must(template.New("report").Parse(reportSource))

// drawnChart is a chart with its SVG, for the report.
type drawnChart struct {
	*Chart
	svg []byte
}

// report is what report.html shows; every string is plain text, escaped
// by html/template, except the charts' SVG, which we drew ourselves.
type report struct {
	Title       string
	Description string
	Dir         string
	Summary     []string
	Notes       []string
	Tables      []resultTable
	Sections    []chartSection
	Failures    []failure
	Env         []field
	Probe       *probeView
	ProbeRaw    string
	Experiment  string
	Files       []string
}

type resultTable struct {
	Test      string
	SweepCols []string
	Rows      []resultRow
}

type resultRow struct {
	Row, RPS, RPSRange, Server, Client, P50, P99, Errors, Repeats, Status string
	Sweep                                                                 []string
	Class                                                                 string // ok, partial, failed or skipped: how the row is shaded
}

type chartSection struct {
	Title, Doc string
	Charts     []reportChart
}

type reportChart struct {
	Name, Title string
	SVG         template.HTML
}

type failure struct {
	Key, Test, Status, Reason, Stderr string
	Repeat                            int
}

type field struct{ Name, Value string }

// probeView is the io_uring probe as env.json records it (the JSON of
// `iolab probe --json`), read for people. It mirrors uring.Report's JSON
// rather than importing it: results reads records, it does not run cores.
type probeView struct {
	Kernel      string   `json:"kernel"`
	Enabled     bool     `json:"io_uring_enabled"`
	Sysctl      string   `json:"io_uring_disabled_sysctl"`
	Why         string   `json:"why_not"`
	Features    []string `json:"features"`
	Ops         []string `json:"ops"`
	Unsupported []string `json:"unsupported_ops"`
	SetupFlags  []struct {
		Flags    string `json:"flags"`
		Accepted bool   `json:"accepted"`
		Error    string `json:"error"`
	} `json:"setup_flags"`
	Memlock limitView `json:"rlimit_memlock"`
	NoFile  limitView `json:"rlimit_nofile"`
}

type limitView struct {
	Soft string `json:"soft"`
	Hard string `json:"hard"`
}

func (l limitView) String() string {
	if l.Soft == "" && l.Hard == "" {
		return "not recorded"
	}
	return "soft " + l.Soft + ", hard " + l.Hard
}

// chartSections says what each kind of chart shows, in report order.
var chartSections = []struct{ kind, title, doc string }{
	{KindRank, "Requests per second, ranked", "Each row's median requests per second over its repeats, best first, with its share of the best. A row that did not measure is an empty bar that says why."},
	{KindConnections, "Requests per second by connections", "A line per row; the bars span the slowest to the fastest repeat."},
	{KindRPSByDepth, "Requests per second by pipeline depth", "A line per row; the bars span the slowest to the fastest repeat."},
	{KindCPUByDepth, "Server CPU per request by pipeline depth", "What deeper pipelines save each request: the cost of a syscall shared by more requests. A line per row."},
	{KindSyscallsByDepth, "Syscalls per request by pipeline depth", "A line per row; rows without the counters (external servers) are left out."},
	{KindCPU, "Server CPU per request", "The server's CPU time (user + system) per request, cheapest first, as a multiple of the cheapest. It still ranks rows when the load generator, not the server, limits requests per second."},
	{KindLatency, "Latency percentiles", "Median of each percentile over the repeats, on a log scale."},
	{KindSyscalls, "Syscalls per request", "Syscalls the server made per request, as its counters report them. Rows without the counters (external servers) are left out."},
	{KindCQEs, "CQEs per io_uring_enter", "Completions reaped per io_uring_enter: how much each trip into the kernel batches. Only rows that use io_uring have it."},
	{KindHeatCPU, "Heat maps: server CPU per request", "One per row, over two swept knobs; the value is printed in each cell."},
	{KindHeatRPS, "Heat maps: requests per second", "One per row, over two swept knobs; the value is printed in each cell."},
}

// buildReport gathers what report.html shows. Nothing here fails: what
// cannot be read is said in the notes.
func buildReport(d *Dir, cells []Cell, charts []drawnChart, problems []error) *report {
	r := &report{Dir: filepath.Base(d.Path)}
	r.experiment(d, cells)
	r.environment(d)
	if len(cells) == 0 {
		r.Notes = append(r.Notes, "No cells: "+CellsFile+" is missing or empty, so there is nothing to tabulate or chart yet.")
	}
	r.summary(cells)
	r.tables(cells)
	for _, c := range cells {
		if !c.OK() {
			r.Failures = append(r.Failures, failure{Key: c.Key, Test: c.Test, Status: c.Status, Reason: c.Reason,
				Stderr: c.Stderr, Repeat: c.Repeat})
		}
	}
	for _, s := range chartSections {
		sec := chartSection{Title: s.title, Doc: s.doc}
		for _, c := range charts {
			if c.Kind == s.kind {
				sec.Charts = append(sec.Charts, reportChart{Name: c.Name, Title: c.Title, SVG: inlineSVG(c.svg, c.Title)})
			}
		}
		if len(sec.Charts) > 0 {
			r.Sections = append(r.Sections, sec)
		}
	}
	for _, p := range problems {
		for _, line := range strings.Split(p.Error(), "\n") {
			r.Notes = append(r.Notes, line)
		}
	}
	r.Files = []string{CellsFile + ": the cells as measured, one JSON object per line (the record everything else is made from)",
		CSVFile + ": one row per cell", BenchFile + ": Go benchmark format, for benchstat",
		fmt.Sprintf("%d charts, each as PNG and SVG (the SVG is what this page shows)", len(charts))}
	return r
}

func (r *report) html() ([]byte, error) {
	var b bytes.Buffer
	if err := reportTemplate.Execute(&b, r); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// experiment reads the name, description and text of experiment.yaml.
func (r *report) experiment(d *Dir, cells []Cell) {
	src, err := os.ReadFile(d.File(ExperimentFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.Notes = append(r.Notes, ExperimentFile+" is missing: the experiment file was not kept with this run, so its settings are known only from the cells.")
	case err != nil:
		r.Notes = append(r.Notes, ExperimentFile+" could not be read: "+err.Error())
	default:
		r.Experiment = string(src)
		var head struct {
			Name        string `yaml:"name"`
			Description string `yaml:"description"`
		}
		if err := yaml.Unmarshal(src, &head); err != nil {
			r.Notes = append(r.Notes, ExperimentFile+" is not valid YAML ("+err.Error()+"); it is shown as it is below.")
		}
		r.Title, r.Description = head.Name, strings.TrimSpace(head.Description)
	}
	if r.Title == "" && len(cells) > 0 {
		r.Title = cells[0].Experiment
	}
	if r.Title == "" {
		r.Title = r.Dir
	}
}

// environment reads env.json into a table.
func (r *report) environment(d *Dir) {
	e, err := d.Env()
	switch {
	case errors.Is(err, os.ErrNotExist):
		r.Notes = append(r.Notes, EnvFile+" is missing: the machine and software this ran on were not recorded.")
		return
	case err != nil:
		r.Notes = append(r.Notes, EnvFile+" could not be read: "+err.Error())
		return
	}
	add := func(name, value string) {
		if value != "" {
			r.Env = append(r.Env, field{name, value})
		}
	}
	if !e.Started.IsZero() {
		add("started", e.Started.UTC().Format(time.RFC3339))
	}
	add("hostname", e.Hostname)
	add("kernel", e.Kernel)
	add("os/arch", strings.Trim(e.OS+"/"+e.Arch, "/"))
	add("CPU model", e.CPUModel)
	if e.CPUs > 0 {
		add("CPUs", strconv.Itoa(e.CPUs))
	}
	if e.MemoryBytes > 0 {
		add("memory", fmt.Sprintf("%.1f GiB", float64(e.MemoryBytes)/(1<<30)))
	}
	add("Go", e.GoVersion)
	add("iolab", e.Iolab)
	add("git describe", e.Git)
	add("command", strings.Join(e.Command, " "))
	add("server CPUs", e.ServerCPUs)
	add("load generator CPUs", e.LoaderCPUs)
	add("server CPU quota", e.CPUQuota)
	add("hosts", e.Hosts)
	if len(e.IOURingProbe) == 0 || string(e.IOURingProbe) == "null" {
		return
	}
	var p probeView
	if err := json.Unmarshal(e.IOURingProbe, &p); err != nil {
		r.ProbeRaw = string(e.IOURingProbe)
		return
	}
	r.Probe = &p
}

func (r *report) summary(cells []Cell) {
	if len(cells) == 0 {
		return
	}
	count := map[string]int{}
	rows := map[string]bool{}
	reps := 0
	for _, c := range cells {
		count[c.Status]++
		rows[c.Row] = true
		reps = max(reps, c.Repeat)
	}
	s := fmt.Sprintf("%d cells: %d ok", len(cells), count[StatusOK])
	if n := count[StatusFailed]; n > 0 {
		s += fmt.Sprintf(", %d failed", n)
	}
	if n := count[StatusSkipped]; n > 0 {
		s += fmt.Sprintf(", %d skipped", n)
	}
	s += fmt.Sprintf("; %d rows; up to %d repeats", len(rows), reps)
	r.Summary = append(r.Summary, s)
	c := cells[0]
	var load []string
	if c.Loader != "" {
		load = append(load, "loader "+c.Loader)
	}
	if c.Seconds > 0 {
		load = append(load, fmt.Sprintf("%gs measured per cell", c.Seconds))
	}
	if len(load) > 0 {
		r.Summary = append(r.Summary, strings.Join(load, ", "))
	}
}

// tables makes one table per test of the medians per key, in matrix order.
func (r *report) tables(cells []Cell) {
	pts := pointsOf(cells)
	var tests []string
	byTest := map[string][]point{}
	for _, p := range pts {
		if _, ok := byTest[p.test]; !ok {
			tests = append(tests, p.test)
		}
		byTest[p.test] = append(byTest[p.test], p)
	}
	for _, test := range tests {
		t := resultTable{Test: test}
		if t.Test == "" {
			t.Test = "(no test named)"
		}
		cols := map[string]bool{}
		for _, p := range byTest[test] {
			for k := range p.Sweep {
				cols[k] = true
			}
		}
		t.SweepCols = sweepOrder(sortedKeys(cols))
		for _, p := range byTest[test] {
			rps, lo, hi := p.median(func(c *Cell) float64 { return c.RPS })
			srv, _, _ := p.median(func(c *Cell) float64 { return c.ServerCPUUsPerReq })
			cli, _, _ := p.median(func(c *Cell) float64 { return c.ClientCPUUsPerReq })
			p50, _, _ := p.median(func(c *Cell) float64 { return c.Latency.P50 })
			p99, _, _ := p.median(func(c *Cell) float64 { return c.Latency.P99 })
			errs, _, _ := p.median(func(c *Cell) float64 { return float64(c.ErrorCount()) })
			row := resultRow{Row: p.name(), RPS: fmtSI(rps), Server: fmtCost(srv), Client: fmtCost(cli),
				P50: fmtMicros(p50), P99: fmtMicros(p99), Errors: fmtSI(errs),
				Repeats: fmt.Sprintf("%d of %d", p.ok, p.Repeats), Status: p.status(), Class: p.outcome()}
			if p.ok == p.Repeats {
				row.Repeats = strconv.Itoa(p.Repeats)
			} else if p.ok > 0 {
				row.Class = "partial"
			}
			if finite(rps) && p.ok > 1 {
				row.RPSRange = "min " + fmtSI(lo) + ", max " + fmtSI(hi)
			}
			for _, k := range t.SweepCols {
				v, ok := p.Sweep[k]
				if !ok {
					v = "–"
				}
				row.Sweep = append(row.Sweep, v)
			}
			t.Rows = append(t.Rows, row)
		}
		r.Tables = append(r.Tables, t)
	}
}

// fmtCost formats a per-request cost, zero being "not measured".
func fmtCost(v float64) string {
	if !finite(v) || v <= 0 {
		return "–"
	}
	return fmtSI(v)
}

// sweepOrder puts the load parameters first, then knobs by name.
func sweepOrder(keys []string) []string {
	rank := func(k string) int {
		switch k {
		case "connections":
			return 0
		case "pipeline":
			return 1
		case "rate":
			return 2
		}
		return 3
	}
	sort.SliceStable(keys, func(i, j int) bool { return rank(keys[i]) < rank(keys[j]) })
	return keys
}

// inlineSVG makes an SVG document an element of the page: without the XML
// prolog, and labelled for screen readers with the chart's title.
func inlineSVG(svg []byte, title string) template.HTML {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.Replace(s, "<svg", `<svg role="img" aria-label="`+html.EscapeString(title)+`"`, 1)
	// The SVG is ours: vgsvg escapes every text it draws, and the only
	// data in it is the text of labels.
	return template.HTML(s)
}
