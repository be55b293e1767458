package experiments

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "iolab/models/all"
)

const good = `name: sample
description: a sample
workload:
  path: /plaintext
  techempower_headers: true
  expect_body: "Hello, World!"
models:
  - model: epoll
    knobs: {loops: 1}
  - model: uring
    knobs: {loops: 1, taskrun: defer}
sweep:
  connections: [16, 64]
  pipeline: [1, 16]
duration: 2s
warmup: 500ms
repeat: 2
cpus:
  server: "0"
  loader: "1"
`

func TestParseGood(t *testing.T) {
	s, err := Parse("sample.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "sample" || len(s.Rows) != 2 || s.Rows[1].Label != "uring taskrun=defer" || s.Workloads[0].Test != "plaintext" ||
		s.Duration != 2*time.Second || s.Repeat != 2 || s.ServerCPUs != "0" || s.Workloads[0].ExpectStatus != 200 {
		t.Fatalf("%+v", s)
	}
	cells := s.Expand()
	if len(cells) != 2*2*2*2 {
		t.Fatalf("%d cells", len(cells))
	}
	// Rows alternate, and the second repeat comes after a whole pass.
	for i, c := range cells {
		if c.Order != i || c.Row.Label != s.Rows[i%2].Label || c.Repeat != 1+i/8 || c.Index != i%8 {
			t.Fatalf("cell %d: %+v", i, c)
		}
	}
	if cells[2].Connections != 16 || cells[2].Pipeline != 16 || cells[4].Connections != 64 {
		t.Fatalf("sweep order: %+v %+v", cells[2], cells[4])
	}
	var plan strings.Builder
	s.WritePlan(&plan, cells)
	if !strings.Contains(plan.String(), "16 cells") || !strings.Contains(plan.String(), "uring taskrun=defer") {
		t.Fatalf("plan:\n%s", plan.String())
	}
}

// TestParseErrors: every kind of mistake is one error that names the file,
// the line, the field and what is allowed.
func TestParseErrors(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q not in the sample", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown field", replace("repeat: 2", "repeats: 2"), []string{"sample.yaml:17:", "repeats", "unknown field", "fields: cpus, description"}},
		{"unknown workload field", replace("  path: /plaintext", "  pathh: /plaintext"), []string{":4:", "pathh", "fields: app, body"}},
		{"unknown model", replace("model: epoll", "model: kqueue"), []string{":8:", "models.model", `"kqueue"`, "epoll, fasthttp, nethttp, netstd, uring"}},
		{"unknown knob", replace("{loops: 1}", "{loopz: 1}"), []string{":9:", "models.epoll", `unknown knob "loopz"`}},
		{"knob out of range", replace("{loops: 1, taskrun: defer}", "{loops: 2000}"), []string{":11:", "knob loops", "out of range", "0..1024"}},
		{"knob combination", replace("taskrun: defer}", "taskrun: defer, sqpoll: on}"), []string{":11:", "sqpoll=on needs taskrun=none"}},
		{"empty sweep", replace("  connections: [16, 64]\n  pipeline: [1, 16]", "  connections: []"), []string{":13:", "sweep.connections", "empty"}},
		{"no sweep", strings.Replace(replace("  connections: [16, 64]\n  pipeline: [1, 16]\n", ""), "sweep:\n", "sweep: {}\n", 1), []string{"sweep", "at least one parameter"}},
		{"bad connections", replace("[16, 64]", "[16, lots]"), []string{":13:", "sweep.connections", `"lots"`, "whole number"}},
		{"swept knob a model lacks", replace("  pipeline: [1, 16]", "  cqe_batch: [1, 16]"), []string{":14:", "sweep.cqe_batch", "model epoll has no knob cqe_batch"}},
		{"swept knob value", replace("  pipeline: [1, 16]", "  loops: [1, 0]"), []string{":9:", "knobs.loops", "fixed here and swept too"}},
		{"bad duration", replace("duration: 2s", "duration: soon"), []string{":15:", "duration", "like 5s"}},
		{"bad cpus", replace(`server: "0"`, `server: "x"`), []string{":19:", "cpus.server", "CPU numbers"}},
		{"bad loader", replace("repeat: 2", "repeat: 2\nloader: ab"), []string{"loader", `"ab"`, "builtin, wrk, h2load"}},
		{"external without ready", replace("  - model: epoll\n    knobs: {loops: 1}", "  - external: nginx\n    command: nginx -p {port}"),
			[]string{":8:", "models.nginx", "needs command", "ready"}},
		{"external without port", replace("  - model: epoll\n    knobs: {loops: 1}", "  - external: nginx\n    command: nginx\n    ready: http://127.0.0.1:{port}/"),
			[]string{"models.nginx", "{port}"}},
		{"duplicate label", replace("  - model: uring\n    knobs: {loops: 1, taskrun: defer}", "  - model: epoll\n    knobs: {loops: 1}"), []string{"models.label", "two rows are labelled"}},
		{"missing path", replace("  path: /plaintext\n", ""), []string{"workload.path", "missing"}},
		{"missing models", replace("models:\n  - model: epoll\n    knobs: {loops: 1}\n  - model: uring\n    knobs: {loops: 1, taskrun: defer}\n", ""), []string{"models", "missing"}},
		{"bad name", replace("name: sample", "name: my sample"), []string{"name", "letters, digits"}},
		{"not yaml", "name: [", []string{"sample.yaml"}},
		{"empty", "", []string{"empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("sample.yaml", []byte(c.src))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error on several lines: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string]int{"0": 1, "0-1": 2, "0,2-3": 3} {
		if got, err := ParseCPUList(in); err != nil || len(got) != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "a", "1-0", "-1", "0,,1"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestShippedExperiments: every experiment file shipped beside this package
// parses and expands, as `iolab run --dry-run` needs.
func TestShippedExperiments(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) < 8 {
		t.Fatalf("%d experiment files (%v)", len(files), err)
	}
	for _, f := range files {
		s, err := LoadFile(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		cells := s.Expand()
		var plan strings.Builder
		if len(cells) == 0 || s.WritePlan(&plan, cells) != nil || s.Name+".yaml" != f {
			t.Errorf("%s: %d cells, named %q", f, len(cells), s.Name)
		}
	}
}

// TestParseFrameworkFields: a row may serve another application, a
// workload may make its body and files and churn its connections, and a
// peer's row is a reference row.
func TestParseFrameworkFields(t *testing.T) {
	src := `name: fw
workload:
  method: POST
  path: /upload
  body_size: 64KiB
  requests_per_conn: 10
models:
  - model: epoll
    app: nethttp:bench
    knobs: {handler: offload}
  - model: fasthttp
sweep:
  connections: [4]
`
	s, err := Parse("fw.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	w := s.Workloads[0]
	if w.BodySize != 64<<10 || len(w.BodyBytes()) != 64<<10 || w.RequestsPerConn != 10 {
		t.Fatalf("workload %+v", w)
	}
	if r := s.Rows[0]; r.App != "nethttp:bench" || r.Label != "epoll nethttp:bench handler=offload" || r.Peer {
		t.Fatalf("row %+v", r)
	}
	if !s.Rows[1].Peer {
		t.Fatal("a peer model's row is not a reference row")
	}
	cells := s.Expand()
	if cells[0].App() != "nethttp:bench" || cells[1].App() != "bench" || cells[0].RequestsPerConn != 10 {
		t.Fatalf("cells %+v", cells[:2])
	}
	bad := map[string][]string{
		"body and body_size":      {strings.Replace(src, "  body_size: 64KiB", "  body_size: 64KiB\n  body: x", 1), "body or body_size"},
		"bad body_size":           {strings.Replace(src, "64KiB", "lots", 1), "workload.body_size", "like 64KiB"},
		"bad requests_per_conn":   {strings.Replace(src, "requests_per_conn: 10", "requests_per_conn: 0", 1), "workload.requests_per_conn"},
		"unknown app":             {strings.Replace(src, "app: nethttp:bench", "app: gin", 1), "models.app", "nethttp:bench"},
		"offload on a peer":       {strings.Replace(src, "  - model: fasthttp", "  - model: fasthttp\n    knobs: {handler: offload}", 1), "handler=offload belongs"},
		"files for the wrong app": {strings.Replace(src, "  body_size: 64KiB", "  static_files: {a.txt: 1KiB}", 1), "static_files", "app static"},
		"file outside the dir":    {strings.Replace(src, "  body_size: 64KiB", "  app: static\n  static_files: {../a: 1KiB}", 1), "without .."},
		"swept requests_per_conn": {strings.Replace(src, "connections: [4]", "requests_per_conn: [0]", 1), "sweep.requests_per_conn"},
	}
	for name, c := range bad {
		_, err := Parse("fw.yaml", []byte(c[0]))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, want := range c[1:] {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q lacks %q", name, err, want)
			}
		}
	}
}
