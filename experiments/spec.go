// Package experiments runs iolab's experiment matrix: an experiment file
// (experiments/*.yaml, beside this package) names a workload, the rows to
// compare (registered cores with fixed knobs, or external servers run from a
// command), the parameters to sweep, and how long to measure. The runner
// expands the matrix, orders the cells so that rows alternate and repeats
// interleave (A B A B ..., because the machine drifts), runs each cell with
// the server in a child process on its own CPUs and the load generator in
// this one, and appends one results.Cell per cell, synced, to the run
// directory. Ctrl-C stops after the cell in progress; a run can be resumed.
package experiments

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"iolab/models"
	"iolab/models/app"
	"iolab/models/http1"
)

// Spec is an experiment file, parsed and checked.
type Spec struct {
	File        string
	Name        string
	Description string
	Workloads   []Workload // one or more; each is a test of its own in the charts
	Rows        []Row
	Sweep       []Dimension
	Duration    time.Duration
	Warmup      time.Duration
	Repeat      int
	ServerCPUs  string  // a CPU list for the server child ("0", "0-1"); "" leaves it unpinned
	LoaderCPUs  string  // a CPU list for the load generator
	CPUQuota    float64 // CPUs' worth of time the server may use (0: no quota)
	Loader      string  // builtin, wrk or h2load
	Threads     int     // load generator threads (0: as many as LoaderCPUs)
	// Count, when above 0, measures this many requests per cell instead of
	// a duration (Duration then bounds the cell). Without a warm-up, such a
	// cell's window is drained at both edges (see Planned.Drained).
	Count  int64
	Hosts  *Hosts // where the server and the load generators run; nil: the runner's machine, the load in its process
	Source []byte // the file as read
}

// Workload is what the load generator asks and what it expects back.
type Workload struct {
	Test               string // a short name for charts (plaintext, json, ...)
	App                string
	Method             string
	Paths              []string
	Headers            []string
	TechEmpowerHeaders bool
	Body               string
	BodySize           int64 // a generated body of this many bytes, instead of Body
	ExpectStatus       int
	ExpectBody         string
	// RequestsPerConn closes each connection after this many responses
	// and opens another (connection churn); 0 keeps them open.
	RequestsPerConn int
	// StaticFiles are files the runner makes (name: size, deterministic
	// bytes) in a directory the server serves (--static-dir), for app
	// static.
	StaticFiles map[string]int64
}

// BodyBytes is what the load generator sends as each request's body.
func (w Workload) BodyBytes() []byte {
	if w.BodySize > 0 {
		return fill(w.BodySize)
	}
	return []byte(w.Body)
}

// fill makes n bytes of a repeating pattern: a generated body or file.
func fill(n int64) []byte {
	const pattern = "iolab generated body 0123456789\n"
	b := make([]byte, n)
	for i := 0; i < len(b); i += len(pattern) {
		copy(b[i:], pattern)
	}
	return b
}

// Row is one line of the comparison: a core with fixed knobs, or an
// external server.
type Row struct {
	Label   string
	Model   string            // a registered model, or "" for an external server
	App     string            // the application this row serves, instead of the workload's (same answers, another interface)
	Knobs   map[string]string // fixed knobs of a core
	Command string            // an external server's command ({port} is replaced)
	Ready   string            // the URL that answers once it is up ({port} is replaced)
	Peer    bool              // a reference peer rather than an iolab core
	line    int
}

// Dimension is one swept parameter and its values.
type Dimension struct {
	Name   string // connections, pipeline, rate, or a knob
	Values []string
	line   int
}

// Load parameters a sweep may name besides knobs.
var loadParams = map[string]bool{"connections": true, "pipeline": true, "rate": true, "requests_per_conn": true}

// specError is an error at a place in an experiment file.
func specError(file string, line int, field, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", file, line, field, fmt.Sprintf(format, a...))
}

// LoadFile reads and checks an experiment file.
func LoadFile(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// Parse checks an experiment file strictly: an unknown field, a model or
// knob that does not exist, a value out of range, an empty sweep, each is an
// error naming the file, the line, the field and what is allowed.
func Parse(file string, src []byte) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty; an experiment needs at least name, workload, models and sweep", file)
	}
	s := &Spec{File: file, Source: src, Repeat: 1, Duration: 5 * time.Second, Warmup: time.Second, Loader: "builtin"}
	p := parser{file: file}
	top := doc.Content[0]
	seen, err := p.fields(top, "the experiment", map[string]func(*yaml.Node) error{
		"name":        func(n *yaml.Node) error { return p.str(n, "name", &s.Name) },
		"description": func(n *yaml.Node) error { return p.str(n, "description", &s.Description) },
		"workload": func(n *yaml.Node) error {
			var w Workload
			err := p.workload(n, &w)
			s.Workloads = append(s.Workloads, w)
			return err
		},
		"workloads": func(n *yaml.Node) error {
			if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
				return p.err(n, "workloads", "want a list of workloads, each like `- path: /plaintext`")
			}
			names := map[string]bool{}
			for _, e := range n.Content {
				var w Workload
				if err := p.workload(e, &w); err != nil {
					return err
				}
				if names[w.Test] {
					return p.err(e, "workloads.test", "two workloads are called %q; give one a test name", w.Test)
				}
				names[w.Test] = true
				s.Workloads = append(s.Workloads, w)
			}
			return nil
		},
		"models":   func(n *yaml.Node) error { return p.rows(n, &s.Rows) },
		"sweep":    func(n *yaml.Node) error { return p.sweep(n, &s.Sweep) },
		"duration": func(n *yaml.Node) error { return p.duration(n, "duration", &s.Duration, 100*time.Millisecond) },
		"warmup":   func(n *yaml.Node) error { return p.duration(n, "warmup", &s.Warmup, 0) },
		"repeat":   func(n *yaml.Node) error { return p.intRange(n, "repeat", &s.Repeat, 1, 100) },
		"cpus":     func(n *yaml.Node) error { return p.cpus(n, s) },
		"server_cpu_quota": func(n *yaml.Node) error {
			return p.floatRange(n, "server_cpu_quota", &s.CPUQuota, 0.01, 1024)
		},
		"loader": func(n *yaml.Node) error {
			return p.choice(n, "loader", &s.Loader, "builtin", "wrk", "h2load")
		},
		"load_threads": func(n *yaml.Node) error { return p.intRange(n, "load_threads", &s.Threads, 1, 1024) },
		"requests": func(n *yaml.Node) error {
			v, err := p.scalar(n, "requests")
			if err != nil {
				return err
			}
			c, err := strconv.ParseInt(v, 10, 64)
			if err != nil || c < 1 || c > 1e12 {
				return p.err(n, "requests", "%q: want a whole number of requests from 1 to 10^12", v)
			}
			s.Count = c
			return nil
		},
		"hosts": func(n *yaml.Node) error { return p.hosts(n, &s.Hosts) },
	})
	if err != nil {
		return nil, err
	}
	if seen["requests"] && !seen["duration"] {
		s.Duration = time.Minute // only a bound: the count ends the cell
	}
	if seen["workload"] && seen["workloads"] {
		return nil, specError(file, top.Line, "workloads", "give workload or workloads, not both")
	}
	if seen["workloads"] {
		seen["workload"] = true
	}
	for _, req := range []string{"name", "workload", "models", "sweep"} {
		if !seen[req] {
			return nil, specError(file, top.Line, req, "missing; every experiment needs name, workload (or workloads), models and sweep")
		}
	}
	lines := map[string]int{} // of each top-level field, for the errors that span fields
	for i := 0; i+1 < len(top.Content); i += 2 {
		lines[top.Content[i].Value] = top.Content[i].Line
	}
	if err := s.check(lines); err != nil {
		return nil, err
	}
	return s, nil
}

// check applies the rules that span fields; line has the line of each
// top-level field.
func (s *Spec) check(line map[string]int) error {
	if !validName(s.Name) {
		return specError(s.File, 1, "name", "%q: use letters, digits, '-' and '_' (it names the results directory)", s.Name)
	}
	for _, d := range s.Sweep {
		if loadParams[d.Name] {
			continue
		}
		// A swept knob must belong to every core row, so that each row
		// is measured at each value; external servers have no knobs.
		for _, r := range s.Rows {
			if r.Model == "" {
				return specError(s.File, d.line, "sweep."+d.Name, "row %q is an external server, which has no knobs; sweep knobs only in experiments of cores", r.Label)
			}
			m, _ := models.Lookup(r.Model)
			k, ok := knobOf(m, d.Name)
			if !ok {
				return specError(s.File, d.line, "sweep."+d.Name, "model %s has no knob %s; sweep connections, pipeline, rate, or a knob every model here has (%s: %s)",
					r.Model, d.Name, r.Model, knobList(m))
			}
			if _, fixed := r.Knobs[d.Name]; fixed {
				return specError(s.File, r.line, "models."+r.Label+".knobs."+d.Name, "fixed here and swept too; keep one")
			}
			for _, v := range d.Values {
				if _, err := k.Parse(v); err != nil {
					return specError(s.File, d.line, "sweep."+d.Name, "%v", err)
				}
			}
		}
	}
	// Each row's fixed knobs, and each combination the sweep gives it, must
	// pass the model's own checks (SQPOLL with DEFER_TASKRUN, say).
	for _, r := range s.Rows {
		if r.Model == "" {
			continue
		}
		name := s.Workloads[0].App
		if r.App != "" {
			name = r.App
		}
		a, _ := app.Lookup(name)
		if a.Handler == nil {
			a.Handler = app.HandlerFunc(func(*http1.ResponseWriter, *http1.Request) {}) // made from options when run
		}
		m, _ := models.Lookup(r.Model)
		for _, combo := range knobCombos(s.Sweep) {
			if _, err := models.NewConfig(m, a, r.settings(combo)); err != nil {
				return specError(s.File, r.line, "models."+r.Label, "%v", err)
			}
		}
	}
	for _, w := range s.Workloads {
		if s.Loader != "builtin" && (w.Body != "" || w.BodySize > 0 || len(w.Paths) > 1 || w.ExpectBody != "" || w.RequestsPerConn > 0) {
			return specError(s.File, line["loader"], "loader", "%s cannot send a body, rotate paths, check bodies or churn connections here; use loader: builtin", s.Loader)
		}
		if len(w.StaticFiles) > 0 && !servesStatic(w.App) && !rowsServeStatic(s.Rows) {
			return specError(s.File, max(line["workload"], line["workloads"]), "workload.static_files", "files are made for app static (or nethttp:static); this workload's app is %s", w.App)
		}
	}
	if s.Count > 0 && s.Loader != "builtin" {
		return specError(s.File, line["requests"], "requests", "%s cannot stop at a count of requests; use loader: builtin, or a duration", s.Loader)
	}
	return s.checkHosts(line)
}

func servesStatic(name string) bool { return name == "static" || name == "nethttp:static" }

func rowsServeStatic(rows []Row) bool {
	for _, r := range rows {
		if servesStatic(r.App) {
			return true
		}
	}
	return false
}

func knobOf(m models.Model, name string) (models.Knob, bool) {
	for _, k := range m.AllKnobs() {
		if k.Name == name {
			return k, true
		}
	}
	return models.Knob{}, false
}

func knobList(m models.Model) string {
	var names []string
	for _, k := range m.AllKnobs() {
		names = append(names, k.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// knobCombos lists every combination of the swept knobs' values (one empty
// combination when none is swept).
func knobCombos(sweep []Dimension) []map[string]string {
	combos := []map[string]string{{}}
	for _, d := range sweep {
		if loadParams[d.Name] {
			continue
		}
		var next []map[string]string
		for _, c := range combos {
			for _, v := range d.Values {
				n := map[string]string{d.Name: v}
				for k, x := range c {
					n[k] = x
				}
				next = append(next, n)
			}
		}
		combos = next
	}
	return combos
}

// settings are the row's knobs with a sweep combination, as NAME=VALUE.
func (r Row) settings(swept map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(r.Knobs) {
		out = append(out, k+"="+r.Knobs[k])
	}
	for _, k := range sortedKeys(swept) {
		out = append(out, k+"="+swept[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parser decodes yaml.Nodes strictly, with errors that say where.
type parser struct {
	file string
}

func (p parser) err(n *yaml.Node, field, format string, a ...any) error {
	return specError(p.file, n.Line, field, format, a...)
}

// fields walks a mapping node, handing each key to its handler; an unknown
// key is an error listing the known ones. It returns the keys seen.
func (p parser) fields(n *yaml.Node, what string, handlers map[string]func(*yaml.Node) error) (map[string]bool, error) {
	if n.Kind != yaml.MappingNode {
		return nil, p.err(n, what, "want a mapping of fields (name: value)")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := handlers[k.Value]
		if !ok {
			return nil, p.err(k, k.Value, "unknown field in %s; fields: %s", what, strings.Join(sortedHandlerKeys(handlers), ", "))
		}
		if seen[k.Value] {
			return nil, p.err(k, k.Value, "given twice in %s", what)
		}
		seen[k.Value] = true
		if err := h(v); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

func sortedHandlerKeys(m map[string]func(*yaml.Node) error) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (p parser) scalar(n *yaml.Node, field string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.err(n, field, "want a single value")
	}
	return n.Value, nil
}

func (p parser) str(n *yaml.Node, field string, out *string) error {
	v, err := p.scalar(n, field)
	*out = v
	return err
}

func (p parser) boolean(n *yaml.Node, field string, out *bool) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		*out = true
	case "false", "no", "off":
		*out = false
	default:
		return p.err(n, field, "%q: want true or false", v)
	}
	return nil
}

func (p parser) intRange(n *yaml.Node, field string, out *int, lo, hi int) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < lo || i > hi {
		return p.err(n, field, "%q: want a whole number from %d to %d", v, lo, hi)
	}
	*out = i
	return nil
}

func (p parser) floatRange(n *yaml.Node, field string, out *float64, lo, hi float64) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < lo || f > hi {
		return p.err(n, field, "%q: want a number from %g to %g", v, lo, hi)
	}
	*out = f
	return nil
}

func (p parser) size(n *yaml.Node, field string, out *int64, lo, hi int64) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	sz, err := models.ParseSize(v)
	if err != nil || sz < lo || sz > hi {
		return p.err(n, field, "%q: want a size from %s to %s, like 64KiB or 20MiB", v, models.FormatSize(lo), models.FormatSize(hi))
	}
	*out = sz
	return nil
}

// files reads static_files: a mapping of file name to size.
func (p parser) files(n *yaml.Node, out *map[string]int64) error {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return p.err(n, "workload.static_files", "want a mapping of file name to size, like `index.html: 16KiB`")
	}
	*out = map[string]int64{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") {
			return p.err(k, "workload.static_files", "%q: a file name is a relative path without ..", name)
		}
		var sz int64
		if err := p.size(v, "workload.static_files."+name, &sz, 0, 1<<30); err != nil {
			return err
		}
		(*out)[name] = sz
	}
	return nil
}

func (p parser) duration(n *yaml.Node, field string, out *time.Duration, min time.Duration) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > time.Hour {
		return p.err(n, field, "%q: want a duration from %v to 1h, like 5s or 500ms", v, min)
	}
	*out = d
	return nil
}

func (p parser) choice(n *yaml.Node, field string, out *string, choices ...string) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	for _, c := range choices {
		if v == c {
			*out = v
			return nil
		}
	}
	return p.err(n, field, "%q: want one of %s", v, strings.Join(choices, ", "))
}

func (p parser) strings(n *yaml.Node, field string) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.err(n, field, "want a value or a list of values")
	}
	var out []string
	for _, e := range n.Content {
		v, err := p.scalar(e, field)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p parser) workload(n *yaml.Node, w *Workload) error {
	*w = Workload{App: app.Default, Method: "GET", ExpectStatus: 200}
	var path string
	seen, err := p.fields(n, "workload", map[string]func(*yaml.Node) error{
		"test": func(n *yaml.Node) error { return p.str(n, "workload.test", &w.Test) },
		"app": func(n *yaml.Node) error {
			return p.choice(n, "workload.app", &w.App, app.Names()...)
		},
		"method": func(n *yaml.Node) error { return p.str(n, "workload.method", &w.Method) },
		"path":   func(n *yaml.Node) error { return p.str(n, "workload.path", &path) },
		"paths": func(n *yaml.Node) error {
			var err error
			w.Paths, err = p.strings(n, "workload.paths")
			return err
		},
		"headers": func(n *yaml.Node) error {
			var err error
			w.Headers, err = p.strings(n, "workload.headers")
			for _, h := range w.Headers {
				if name, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(name) == "" {
					return p.err(n, "workload.headers", "%q: want \"Name: value\"", h)
				}
			}
			return err
		},
		"techempower_headers": func(n *yaml.Node) error {
			return p.boolean(n, "workload.techempower_headers", &w.TechEmpowerHeaders)
		},
		"body": func(n *yaml.Node) error { return p.str(n, "workload.body", &w.Body) },
		"body_size": func(n *yaml.Node) error {
			return p.size(n, "workload.body_size", &w.BodySize, 1, 1<<30)
		},
		"requests_per_conn": func(n *yaml.Node) error {
			return p.intRange(n, "workload.requests_per_conn", &w.RequestsPerConn, 1, 1_000_000)
		},
		"static_files":  func(n *yaml.Node) error { return p.files(n, &w.StaticFiles) },
		"expect_status": func(n *yaml.Node) error { return p.intRange(n, "workload.expect_status", &w.ExpectStatus, 100, 599) },
		"expect_body":   func(n *yaml.Node) error { return p.str(n, "workload.expect_body", &w.ExpectBody) },
	})
	if err != nil {
		return err
	}
	if seen["path"] && seen["paths"] {
		return p.err(n, "workload", "give path or paths, not both")
	}
	if seen["body"] && seen["body_size"] {
		return p.err(n, "workload", "give body or body_size, not both")
	}
	if path != "" {
		w.Paths = []string{path}
	}
	if len(w.Paths) == 0 {
		return p.err(n, "workload.path", "missing; the path to request, like /plaintext")
	}
	for _, pth := range w.Paths {
		if !strings.HasPrefix(pth, "/") {
			return p.err(n, "workload.path", "%q: a path starts with /", pth)
		}
	}
	if w.Test == "" {
		w.Test = strings.Trim(strings.SplitN(w.Paths[0], "?", 2)[0], "/")
		if w.Test == "" {
			w.Test = "root"
		}
	}
	if !validName(w.Test) {
		return p.err(n, "workload.test", "%q: use letters, digits, '-' and '_'", w.Test)
	}
	return nil
}

func (p parser) rows(n *yaml.Node, out *[]Row) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return p.err(n, "models", "want a list of rows, each `- model: NAME` (with knobs) or `- external: LABEL` (with command and ready); models: %s",
			strings.Join(models.Names(), ", "))
	}
	labels := map[string]bool{}
	for _, e := range n.Content {
		r := Row{line: e.Line}
		var external string
		seen, err := p.fields(e, "a row of models", map[string]func(*yaml.Node) error{
			"model": func(v *yaml.Node) error {
				return p.choice(v, "models.model", &r.Model, models.Names()...)
			},
			"app":      func(v *yaml.Node) error { return p.choice(v, "models.app", &r.App, app.Names()...) },
			"external": func(v *yaml.Node) error { return p.str(v, "models.external", &external) },
			"label":    func(v *yaml.Node) error { return p.str(v, "models.label", &r.Label) },
			"knobs": func(v *yaml.Node) error {
				r.line = v.Line // knob errors point at the knobs
				return p.knobs(v, &r)
			},
			"command": func(v *yaml.Node) error { return p.str(v, "models.command", &r.Command) },
			"ready":   func(v *yaml.Node) error { return p.str(v, "models.ready", &r.Ready) },
			"peer":    func(v *yaml.Node) error { return p.boolean(v, "models.peer", &r.Peer) },
		})
		if err != nil {
			return err
		}
		switch {
		case seen["model"] == seen["external"]:
			return p.err(e, "models", "each row is either `model: NAME` or `external: LABEL`")
		case seen["external"] && (!seen["command"] || !seen["ready"]):
			return p.err(e, "models."+external, "an external server needs command (with {port}) and ready (a URL with {port} that answers once it is up)")
		case seen["external"] && seen["knobs"]:
			return p.err(e, "models."+external, "an external server has no knobs; give its settings in its command")
		case seen["model"] && (seen["command"] || seen["ready"]):
			return p.err(e, "models."+r.Model, "command and ready are for external servers")
		case seen["external"] && seen["app"]:
			return p.err(e, "models."+external, "an external server serves what its command says; app is for models")
		case seen["external"] && (!strings.Contains(r.Command, "{port}") || !strings.Contains(r.Ready, "{port}")):
			return p.err(e, "models."+external, "command and ready must both contain {port}, where the runner puts the port it chose")
		}
		if m, err := models.Lookup(r.Model); err == nil && m.Peer && !seen["peer"] {
			r.Peer = true // a peer model is a reference row unless the file says otherwise
		}
		if r.Label == "" {
			r.Label = external
			if r.Model != "" {
				r.Label = r.Model
				if r.App != "" {
					r.Label += " " + r.App
				}
				for _, k := range sortedKeys(r.Knobs) {
					if k != "loops" {
						r.Label += " " + k + "=" + r.Knobs[k]
					}
				}
			}
		}
		if labels[r.Label] {
			return p.err(e, "models.label", "two rows are labelled %q; give one a label", r.Label)
		}
		labels[r.Label] = true
		*out = append(*out, r)
	}
	return nil
}

// knobs reads a row's fixed knobs, checked against its model (the model
// field may come after knobs, so the check waits for check).
func (p parser) knobs(n *yaml.Node, r *Row) error {
	if n.Kind != yaml.MappingNode {
		return p.err(n, "models.knobs", "want a mapping of knob: value")
	}
	r.Knobs = map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		val, err := p.scalar(v, "knobs."+k.Value)
		if err != nil {
			return err
		}
		if _, dup := r.Knobs[k.Value]; dup {
			return p.err(k, "knobs."+k.Value, "given twice")
		}
		r.Knobs[k.Value] = val
	}
	return nil
}

func (p parser) sweep(n *yaml.Node, out *[]Dimension) error {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return p.err(n, "sweep", "want at least one parameter with its values, like `connections: [256, 1024]`; parameters: connections, pipeline, rate, or any knob of the models")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		vals, err := p.strings(v, "sweep."+k.Value)
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			return p.err(v, "sweep."+k.Value, "empty; give at least one value")
		}
		for _, d := range *out {
			if d.Name == k.Value {
				return p.err(k, "sweep."+k.Value, "given twice")
			}
		}
		d := Dimension{Name: k.Value, Values: vals, line: k.Line}
		if err := p.loadParam(d); err != nil {
			return err
		}
		*out = append(*out, d)
	}
	return nil
}

// loadParam checks the values of connections, pipeline, rate and
// requests_per_conn.
func (p parser) loadParam(d Dimension) error {
	lims := map[string][2]float64{"connections": {1, 1 << 20}, "pipeline": {1, 1024}, "rate": {1, 1e9}, "requests_per_conn": {1, 1e6}}
	lim, ok := lims[d.Name]
	if !ok {
		return nil // a knob: checked against the models in Spec.check
	}
	for _, v := range d.Values {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < lim[0] || f > lim[1] || d.Name != "rate" && f != float64(int(f)) {
			what := "a whole number"
			if d.Name == "rate" {
				what = "a number"
			}
			return specError(p.file, d.line, "sweep."+d.Name, "%q: want %s from %.0f to %.0f", v, what, lim[0], lim[1])
		}
	}
	return nil
}

func (p parser) cpus(n *yaml.Node, s *Spec) error {
	_, err := p.fields(n, "cpus", map[string]func(*yaml.Node) error{
		"server": func(v *yaml.Node) error { return p.cpuList(v, "cpus.server", &s.ServerCPUs) },
		"loader": func(v *yaml.Node) error { return p.cpuList(v, "cpus.loader", &s.LoaderCPUs) },
	})
	return err
}

func (p parser) cpuList(n *yaml.Node, field string, out *string) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	if _, err := ParseCPUList(v); err != nil {
		return p.err(n, field, "%q: %v", v, err)
	}
	*out = v
	return nil
}

// ParseCPUList reads a CPU list like "0", "0-1" or "0,2-3".
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if isRange && err == nil {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b > 4095 {
			return nil, fmt.Errorf("want CPU numbers and ranges like 0, 0-1 or 0,2-3")
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
