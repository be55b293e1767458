package experiments

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"iolab/loadgen"
	"iolab/results"
)

// outcome is what a loader measured, in the cell's terms.
type outcome struct {
	requests  uint64
	rps       float64
	bytes     uint64
	latency   results.Latency
	errors    map[string]uint64
	clientCPU float64 // µs per request, when known
	saturated bool
	histogram string
	hosts     *results.Hosts // load generators of their own: where, and each one's part
}

func (o *outcome) fill(c *results.Cell) {
	c.Requests, c.RPS, c.BytesRead, c.Latency = o.requests, o.rps, o.bytes, o.latency
	c.Errors, c.ClientCPUUsPerReq, c.ClientSaturated, c.Histogram = o.errors, o.clientCPU, o.saturated, o.histogram
	c.Hosts = o.hosts
	if c.RPS > 0 {
		c.Seconds = float64(c.Requests) / c.RPS
	}
}

// load runs the cell's load against addr. onWindow is called when the
// measured window begins (true) and ends (false), so the server can be
// sampled at exactly those moments.
func (r *Runner) load(ctx context.Context, p Planned, addr string, onWindow func(begin bool)) (*outcome, error) {
	if onWindow == nil && r.Spec.Loader != "builtin" {
		onWindow = func(bool) {} // drained cells are the builtin's alone; keep the others safe
	}
	switch r.Spec.Loader {
	case "wrk":
		return r.loadWrk(ctx, p, addr, onWindow)
	case "h2load":
		return r.loadH2load(ctx, p, addr, onWindow)
	}
	w := p.Workload
	cfg := loadgen.Config{
		URL:                "http://" + addr + w.Paths[0],
		Method:             w.Method,
		Paths:              w.Paths,
		TechEmpowerHeaders: w.TechEmpowerHeaders,
		Body:               w.BodyBytes(),
		Connections:        p.Connections,
		Pipeline:           p.Pipeline,
		RequestsPerConn:    p.RequestsPerConn,
		Rate:               p.Rate,
		Threads:            r.Spec.Threads,
		Duration:           r.Spec.Duration,
		Count:              p.Count,
		Warmup:             r.Spec.Warmup,
		ExpectStatus:       w.ExpectStatus,
		ExpectBody:         []byte(w.ExpectBody),
		OnWindow:           onWindow,
	}
	for _, h := range w.Headers {
		hd, err := loadgen.ParseHeader(h)
		if err != nil {
			return nil, err
		}
		cfg.Headers = append(cfg.Headers, hd)
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return outcomeOf(res), nil
}

// outcomeOf is the builtin load generator's result in the cell's terms.
func outcomeOf(res *loadgen.Result) *outcome {
	l := res.Latency
	o := &outcome{
		requests: res.Requests, rps: res.RPS, bytes: res.Bytes,
		latency: results.Latency{P50: l.P50, P75: l.P75, P90: l.P90, P99: l.P99, P999: l.P999, P9999: l.P9999,
			Max: float64(l.Max), Mean: l.Mean},
		errors:    map[string]uint64{},
		clientCPU: res.CPU.PerRequestUs, saturated: res.CPU.Saturated, histogram: res.Histogram,
	}
	e := res.Errors
	for name, n := range map[string]uint64{"connect": e.Connect, "read": e.Read, "write": e.Write, "timeout": e.Timeout,
		"parse": e.Parse, "status": e.Status, "body": e.Body} {
		if n > 0 {
			o.errors[name] = n
		}
	}
	return o
}

// loadWrk runs wrk (a warm-up run, then the measured one), pinned to the
// loader CPUs, and reads its summary.
func (r *Runner) loadWrk(ctx context.Context, p Planned, addr string, onWindow func(bool)) (*outcome, error) {
	if _, err := exec.LookPath("wrk"); err != nil {
		return nil, errors.New("loader wrk: wrk is not installed (Debian package wrk)")
	}
	script, err := os.CreateTemp("", "iolab-wrk-*.lua")
	if err != nil {
		return nil, err
	}
	defer os.Remove(script.Name())
	fmt.Fprint(script, wrkScript(p.Workload))
	script.Close()
	threads := r.Spec.Threads
	if threads == 0 {
		threads = max(1, len(mustCPUs(r.Spec.LoaderCPUs)))
	}
	url := "http://" + addr + p.Workload.Paths[0]
	args := func(d time.Duration) []string {
		// wrk takes whole seconds: "500ms" is a usage error.
		secs := max(1, int(math.Ceil(d.Seconds())))
		a := []string{"wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(max(p.Connections, threads)),
			"-d", strconv.Itoa(secs) + "s", "--latency", "-s", script.Name(), url, "--", strconv.Itoa(p.Pipeline)}
		if r.Spec.LoaderCPUs != "" {
			a = append([]string{"taskset", "-c", r.Spec.LoaderCPUs}, a...)
		}
		return a
	}
	if r.Spec.Warmup > 0 {
		if _, _, err := runTool(ctx, args(r.Spec.Warmup)); err != nil {
			return nil, err
		}
	}
	onWindow(true)
	out, cpu, err := runTool(ctx, args(r.Spec.Duration))
	onWindow(false)
	if err != nil {
		return nil, err
	}
	o, err := parseWrk(out)
	if err == nil {
		o.setClientCPU(cpu, threads)
	}
	return o, err
}

// wrkScript sends the workload's request, pipelined as deep as the cell
// asks (TechEmpower's pipeline.lua, with the workload's method, headers and
// body).
func wrkScript(w Workload) string {
	var b strings.Builder
	b.WriteString("wrk.method = " + strconv.Quote(w.Method) + "\n")
	if w.Body != "" {
		b.WriteString("wrk.body = " + strconv.Quote(w.Body) + "\n")
	}
	for _, h := range techEmpowerIf(w) {
		name, value, _ := strings.Cut(h, ":")
		b.WriteString("wrk.headers[" + strconv.Quote(strings.TrimSpace(name)) + "] = " + strconv.Quote(strings.TrimSpace(value)) + "\n")
	}
	b.WriteString(`init = function(args)
  local depth = tonumber(args[1]) or 1
  local r = {}
  for i = 1, depth do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
`)
	return b.String()
}

func techEmpowerIf(w Workload) []string {
	h := append([]string(nil), w.Headers...)
	if w.TechEmpowerHeaders {
		h = append(h, "Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7",
			"Connection: keep-alive")
	}
	return h
}

var (
	wrkTotal   = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m),\s+([\d.]+)([KMGT]?B) read`)
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)`)
	wrkErrors  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkLatency = regexp.MustCompile(`Latency\s+([\d.]+)(us|ms|s)\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)`)
)

func parseWrk(out string) (*outcome, error) {
	m := wrkTotal.FindStringSubmatch(out)
	rate := wrkRate.FindStringSubmatch(out)
	if m == nil || rate == nil {
		return nil, fmt.Errorf("wrk's output has no summary:\n%s", out)
	}
	o := &outcome{errors: map[string]uint64{}}
	o.requests, _ = strconv.ParseUint(m[1], 10, 64)
	o.rps, _ = strconv.ParseFloat(rate[1], 64)
	o.bytes = uint64(scaled(m[4], m[5]))
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		v := micros(p[2], p[3])
		switch p[1] {
		case "50":
			o.latency.P50 = v
		case "75":
			o.latency.P75 = v
		case "90":
			o.latency.P90 = v
		case "99":
			o.latency.P99 = v
		}
	}
	if l := wrkLatency.FindStringSubmatch(out); l != nil {
		o.latency.Mean, o.latency.Max = micros(l[1], l[2]), micros(l[3], l[4])
	}
	if e := wrkErrors.FindStringSubmatch(out); e != nil {
		for i, name := range []string{"connect", "read", "write", "timeout"} {
			if n, _ := strconv.ParseUint(e[i+1], 10, 64); n > 0 {
				o.errors[name] = n
			}
		}
	}
	if s := wrkNon2xx.FindStringSubmatch(out); s != nil {
		o.errors["status"], _ = strconv.ParseUint(s[1], 10, 64)
	}
	return o, nil
}

// loadH2load runs h2load over HTTP/1.1 (--h1; -m is the pipeline depth).
func (r *Runner) loadH2load(ctx context.Context, p Planned, addr string, onWindow func(bool)) (*outcome, error) {
	if _, err := exec.LookPath("h2load"); err != nil {
		return nil, errors.New("loader h2load: h2load is not installed (Debian package nghttp2-client)")
	}
	threads := r.Spec.Threads
	if threads == 0 {
		threads = max(1, len(mustCPUs(r.Spec.LoaderCPUs)))
	}
	url := "http://" + addr + p.Workload.Paths[0]
	args := func(d time.Duration) []string {
		a := []string{"h2load", "--h1", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(max(p.Connections, threads)),
			"-m", strconv.Itoa(p.Pipeline), "-D", strconv.Itoa(max(1, int(d.Round(time.Second).Seconds())))}
		for _, h := range techEmpowerIf(p.Workload) {
			a = append(a, "-H", h)
		}
		a = append(a, url)
		if r.Spec.LoaderCPUs != "" {
			a = append([]string{"taskset", "-c", r.Spec.LoaderCPUs}, a...)
		}
		return a
	}
	if r.Spec.Warmup >= time.Second {
		if _, _, err := runTool(ctx, args(r.Spec.Warmup)); err != nil {
			return nil, err
		}
	}
	onWindow(true)
	out, cpu, err := runTool(ctx, args(r.Spec.Duration))
	onWindow(false)
	if err != nil {
		return nil, err
	}
	o, err := parseH2load(out)
	if err == nil {
		o.setClientCPU(cpu, threads)
	}
	return o, err
}

var (
	h2Finished = regexp.MustCompile(`finished in ([\d.]+)(us|ms|s), ([\d.]+) req/s`)
	h2Requests = regexp.MustCompile(`requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Time     = regexp.MustCompile(`time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)`)
	h2Traffic  = regexp.MustCompile(`traffic: [\d.]+\w+ \((\d+)\) total`)
)

func parseH2load(out string) (*outcome, error) {
	f := h2Finished.FindStringSubmatch(out)
	req := h2Requests.FindStringSubmatch(out)
	if f == nil || req == nil {
		return nil, fmt.Errorf("h2load's output has no summary:\n%s", out)
	}
	o := &outcome{errors: map[string]uint64{}}
	o.rps, _ = strconv.ParseFloat(f[3], 64)
	o.requests, _ = strconv.ParseUint(req[1], 10, 64)
	for i, name := range []string{"status", "read", "timeout"} {
		if n, _ := strconv.ParseUint(req[i+2], 10, 64); n > 0 {
			o.errors[name] += n
		}
	}
	if t := h2Time.FindStringSubmatch(out); t != nil {
		o.latency.Max, o.latency.Mean = micros(t[3], t[4]), micros(t[5], t[6])
	}
	if t := h2Traffic.FindStringSubmatch(out); t != nil {
		o.bytes, _ = strconv.ParseUint(t[1], 10, 64)
	}
	return o, nil
}

// runTool runs a load tool to completion and returns its output and the
// CPU time (user + system) it used: it is our child, so its rusage says, and
// taskset execs it rather than forking.
func runTool(ctx context.Context, argv []string) (string, time.Duration, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), 0, fmt.Errorf("%s: %v: %s", argv[0], err, lastLines(out.String(), 5))
	}
	return out.String(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// setClientCPU records an external loader's CPU time over its run: per
// request, and whether its threads were saturated (as loadgen judges its
// own: above 90% of the threads' time).
func (o *outcome) setClientCPU(cpu time.Duration, threads int) {
	if o.requests == 0 || o.rps <= 0 {
		return
	}
	o.clientCPU = float64(cpu.Microseconds()) / float64(o.requests)
	wall := float64(o.requests) / o.rps
	o.saturated = cpu.Seconds() > 0.9*wall*float64(threads)
}

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

func micros(v, unit string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	switch unit {
	case "ms":
		return f * 1e3
	case "s":
		return f * 1e6
	case "m":
		return f * 60e6
	}
	return f
}

func scaled(v, unit string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	switch unit {
	case "KB":
		return f * 1024
	case "MB":
		return f * 1024 * 1024
	case "GB":
		return f * math.Pow(1024, 3)
	case "TB":
		return f * math.Pow(1024, 4)
	}
	return f
}

func mustCPUs(list string) []int {
	if list == "" {
		return nil
	}
	cpus, _ := ParseCPUList(list)
	return cpus
}
