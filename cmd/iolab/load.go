package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"iolab/experiments"
	"iolab/loadgen"
	"iolab/models"
	"iolab/models/affinity"
)

type loadOptions struct {
	connections  countFlag
	duration     secondsFlag
	requests     countFlag
	threads      int
	pipeline     int
	perConn      int
	rate         rateFlag
	headers      []string
	techempower  bool
	method       string
	body         string
	paths        []string
	expectStatus int
	expectBody   string
	timeout      secondsFlag
	warmup       secondsFlag
	latency      bool
	jsonOut      string
	bench        bool
	benchName    string
	sourceAddrs  string
	maxResponse  string
}

func init() { commands = append(commands, newLoadCmd) }

func newLoadCmd() *cobra.Command {
	o := &loadOptions{connections: loadgen.DefaultConnections, duration: secondsFlag(loadgen.DefaultDuration),
		timeout: secondsFlag(loadgen.DefaultTimeout), pipeline: 1, method: "GET"}
	cmd := &cobra.Command{
		Use:   "load URL",
		Short: "Load an HTTP/1.1 server, pipelined, closed or open loop, and report what it did",
		Long: `Load the server at URL (http:// only: TLS would measure the cipher, not the
I/O model) and print a summary in wrk's layout, so scripts written for wrk keep
working: "N requests in T, B read" and "Requests/sec: X" are exactly wrk's lines.

Closed loop (the default, as TechEmpower runs wrk): each connection keeps
--pipeline requests in flight and sends the next batch when the whole previous
one is answered; latency is timed from the write that sent each request.
Open loop (--rate R): R requests per second in all, on a fixed schedule spread
over the connections, at most --pipeline in flight per connection; latency is
timed from when each request was due, so a server that stalls shows it in the
percentiles instead of hiding it (coordinated omission, as wrk2 corrects it).

Every response is framed and checked (--expect-status, --expect-body); errors
are counted by category (connect, read, write, timeout, parse, status, body),
and the summary accounts for every request: sent = received + lost + in flight.
A connection the server closes is reopened. The client measures its own CPU
time, so a result says whether the client was the limit.

The default is 256 connections (TechEmpower's plaintext concurrency, not wrk's
10) and one thread per CPU this process may use. Counts take k, M and G
(-c 10k); durations take Go units or bare seconds (-d 15). SIGINT or SIGTERM
stops the run and still prints what was measured.`,
		Example: `  iolab load http://127.0.0.1:8080/plaintext
  iolab load -c 256 -t 2 -d 15s --pipeline 16 --techempower-headers --latency http://127.0.0.1:8080/plaintext
  iolab load --rate 50k -c 512 -d 30s --latency http://127.0.0.1:8080/plaintext     # open loop
  iolab load -n 1M --pipeline 16 --bench http://127.0.0.1:8080/plaintext > new.txt   # for benchstat
  iolab load -c 64 -d 10s --requests-per-conn 10 http://127.0.0.1:8080/plaintext   # connection churn
  iolab load --path /plaintext --path /json --expect-status 200 http://127.0.0.1:8080
  iolab load --method POST --body @payload.json -H 'Content-Type: application/json' http://127.0.0.1:8080/echo
  iolab load -c 50k --source-addrs 127.0.0.2-127.0.0.9 -d 10s http://127.0.0.1:8080/plaintext
  iolab load --json=result.json --warmup 5s -d 30s http://127.0.0.1:8080/plaintext`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("load takes one URL, like http://127.0.0.1:8080/plaintext (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return o.run(ctx, cmd, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.VarP(&o.connections, "connections", "c", "connections to keep open")
	f.VarP(&o.duration, "duration", "d", "measured window (after --warmup)")
	f.VarP(&o.requests, "requests", "n", "measure this many requests instead of a duration (-d then bounds the run)")
	f.IntVarP(&o.threads, "threads", "t", 0, fmt.Sprintf("worker threads (default: the CPUs this process may use, %d)", affinity.Count()))
	f.IntVar(&o.pipeline, "pipeline", 1, "requests in flight per connection: the batch a closed loop sends at once")
	f.IntVar(&o.perConn, "requests-per-conn", 0, "close each connection after this many responses and open another (connection churn; 0: keep them open)")
	f.Var(&o.rate, "rate", "open loop: requests per second in all (0: closed loop)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.BoolVar(&o.techempower, "techempower-headers", false, "send TechEmpower's Accept and Connection: keep-alive headers")
	f.StringVar(&o.method, "method", "GET", "request method")
	f.StringVar(&o.body, "body", "", "request body, or @FILE to read it from a file")
	f.StringArrayVar(&o.paths, "path", nil, "request-target to rotate through on URL's host, '[METHOD] /path' (repeatable), or @FILE with one per line")
	f.IntVar(&o.expectStatus, "expect-status", 0, "status every response must have (else a status error)")
	f.StringVar(&o.expectBody, "expect-body", "", "body every response must have (else a body error), or @FILE")
	f.VarP(&o.timeout, "timeout", "T", "fail a request unanswered this long, and reset its connection (at most 60s)")
	f.Var(&o.warmup, "warmup", "run the load this long before the measured window, recording nothing")
	f.BoolVar(&o.latency, "latency", false, "print the latency distribution and the per-second timeline")
	f.StringVar(&o.jsonOut, "json", "", "print the result as JSON instead of text (--json=FILE: write it to FILE, and print text)")
	f.Lookup("json").NoOptDefVal = "-"
	f.BoolVar(&o.bench, "bench", false, "print a Go benchmark line (for benchstat) after the summary")
	f.StringVar(&o.benchName, "bench-name", "", "name of the benchmark line (default BenchmarkLoad/conns=C/pipeline=P)")
	f.StringVar(&o.sourceAddrs, "source-addrs", "", "local addresses to spread connections over: 127.0.0.2-127.0.0.9, or a comma list")
	f.StringVar(&o.maxResponse, "max-response", "16MiB", "largest response accepted (a larger one is a parse error)")
	return cmd
}

// loadFlags names the flag behind each Config field, for errors.
var loadFlags = map[string]string{
	"URL": "URL", "Method": "--method", "Paths": "--path", "Headers": "--header", "Body": "--body",
	"Connections": "--connections", "Threads": "--threads", "Pipeline": "--pipeline", "Rate": "--rate",
	"RequestsPerConn": "--requests-per-conn",
	"Duration":        "--duration", "Count": "--requests", "Warmup": "--warmup", "Timeout": "--timeout",
	"ExpectStatus": "--expect-status", "ExpectBody": "--expect-body", "SourceAddrs": "--source-addrs",
	"MaxResponse": "--max-response",
}

func (o *loadOptions) config(cmd *cobra.Command, url string) (loadgen.Config, error) {
	f := cmd.Flags()
	cfg := loadgen.Config{
		URL: url, Method: o.method, TechEmpowerHeaders: o.techempower,
		Connections: int(min(int64(o.connections), math.MaxInt32)), Threads: o.threads, Pipeline: o.pipeline,
		RequestsPerConn: o.perConn,
		Rate:            float64(o.rate), Count: int64(o.requests), Warmup: time.Duration(o.warmup), Timeout: time.Duration(o.timeout),
		ExpectStatus: o.expectStatus,
	}
	if o.connections <= 0 {
		return cfg, usagef("--connections: %d is not a positive number", o.connections)
	}
	if o.threads < 0 || f.Changed("threads") && o.threads == 0 {
		return cfg, usagef("--threads: %d is not a positive number (leave it out for one per CPU)", o.threads)
	}
	if o.pipeline <= 0 {
		return cfg, usagef("--pipeline: %d is not a positive number", o.pipeline)
	}
	if f.Changed("requests") && o.requests <= 0 {
		return cfg, usagef("--requests: %d is not a positive number", o.requests)
	}
	if f.Changed("timeout") && o.timeout <= 0 {
		return cfg, usagef("--timeout: must be positive")
	}
	switch {
	case f.Changed("duration") && o.duration <= 0:
		return cfg, usagef("--duration: must be positive")
	case f.Changed("duration") || o.requests == 0:
		cfg.Duration = time.Duration(o.duration)
	}
	for _, h := range o.headers {
		hdr, err := loadgen.ParseHeader(h)
		if err != nil {
			return cfg, usagef("--header: %v", err)
		}
		cfg.Headers = append(cfg.Headers, hdr)
	}
	if o.body != "" {
		b, err := valueOrFile(o.body)
		if err != nil {
			return cfg, usagef("--body: %v", err)
		}
		cfg.Body = b
	}
	for _, p := range o.paths {
		if !strings.HasPrefix(p, "@") {
			cfg.Paths = append(cfg.Paths, p)
			continue
		}
		list, err := readLines(p[1:])
		if err != nil {
			return cfg, usagef("--path: %v", err)
		}
		if len(list) == 0 {
			return cfg, usagef("--path: %s lists no path", p[1:])
		}
		cfg.Paths = append(cfg.Paths, list...)
	}
	if f.Changed("expect-body") {
		b, err := valueOrFile(o.expectBody)
		if err != nil {
			return cfg, usagef("--expect-body: %v", err)
		}
		if len(b) == 0 {
			return cfg, usagef("--expect-body: empty; a response without a body is told by its status (--expect-status 204)")
		}
		cfg.ExpectBody = b
	}
	if o.sourceAddrs != "" {
		a, err := loadgen.ParseSourceAddrs(o.sourceAddrs)
		if err != nil {
			return cfg, usagef("--source-addrs: %v", err)
		}
		cfg.SourceAddrs = a
	}
	n, err := models.ParseSize(o.maxResponse)
	if err != nil || n > math.MaxInt32 {
		return cfg, usagef("--max-response: %q is not a size like 16MiB", o.maxResponse)
	}
	cfg.MaxResponse = int(n)
	if o.jsonOut == "-" && o.bench {
		return cfg, usagef("--bench: both it and --json print to stdout; write the JSON to a file with --json=FILE")
	}
	if o.jsonOut != "" && o.jsonOut != "-" {
		if err := checkWritable(o.jsonOut); err != nil {
			return cfg, usagef("--json: %v", err)
		}
	}
	return cfg, flagError(cfg.Validate())
}

// flagError turns a Config error into a usage error that names the flag.
func flagError(err error) error {
	var ce *loadgen.ConfigError
	if errors.As(err, &ce) {
		return usageError{fmt.Errorf("%s: %s", loadFlags[ce.Field], ce.Problem)}
	}
	return err
}

func (o *loadOptions) run(ctx context.Context, cmd *cobra.Command, url string, stdout, stderr io.Writer) error {
	cfg, err := o.config(cmd, url)
	if err != nil {
		return err
	}
	cfg.Log = func(msg string) { fmt.Fprintln(stderr, "iolab: "+msg) }
	// How a runner on another host hears of the window, to sample the
	// server then; and how a person sees the warm-up end.
	cfg.OnWindow = func(begin bool) {
		if begin {
			fmt.Fprintln(stderr, experiments.WindowBeginsLine)
		} else {
			fmt.Fprintln(stderr, experiments.WindowEndsLine)
		}
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return flagError(err)
	}
	if res.Interrupted {
		fmt.Fprintln(stderr, "iolab: interrupted; what was measured so far:")
	}
	if o.jsonOut == "-" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(b, '\n'))
		return err
	}
	if o.jsonOut != "" {
		if err := writeJSON(o.jsonOut, res); err != nil {
			return err
		}
	}
	if err := res.WriteText(stdout, o.latency); err != nil {
		return err
	}
	if o.bench {
		_, err = fmt.Fprintln(stdout, res.BenchLine(o.benchName))
	}
	return err
}

// valueOrFile is s, or the contents of the file when s is @FILE.
func valueOrFile(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "@") {
		return []byte(s), nil
	}
	b, err := os.ReadFile(s[1:])
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", s[1:], errors.Unwrap(err))
	}
	return b, nil
}

// readLines reads a list file: one entry per line, blank lines and lines
// beginning with # ignored.
func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// countFlag is a count that takes wrk's suffixes: 10k, 1M, 2G.
type countFlag int64

func (c *countFlag) String() string { return strconv.FormatInt(int64(*c), 10) }
func (c *countFlag) Type() string   { return "count" }
func (c *countFlag) Set(s string) error {
	v, err := parseMetric(s)
	if err != nil || v != math.Trunc(v) || v > math.MaxInt64/2 {
		return fmt.Errorf("%q is not a count like 256, 10k or 1M", s)
	}
	*c = countFlag(v)
	return nil
}

// rateFlag is a rate in requests per second, with the same suffixes.
type rateFlag float64

func (r *rateFlag) String() string { return strconv.FormatFloat(float64(*r), 'f', -1, 64) }
func (r *rateFlag) Type() string   { return "req/s" }
func (r *rateFlag) Set(s string) error {
	v, err := parseMetric(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a rate like 2000 or 50k", s)
	}
	*r = rateFlag(v)
	return nil
}

func parseMetric(s string) (float64, error) {
	s = strings.TrimSpace(s)
	mult := 1.0
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1e3
		case 'm', 'M':
			mult = 1e6
		case 'g', 'G':
			mult = 1e9
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("not a number")
	}
	return v * mult, nil
}

// secondsFlag is a duration that also takes bare seconds, as wrk does (-d 10).
type secondsFlag time.Duration

func (d *secondsFlag) String() string { return time.Duration(*d).String() }
func (d *secondsFlag) Type() string   { return "duration" }
func (d *secondsFlag) Set(s string) error {
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && v < 1e9 {
		*d = secondsFlag(v * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10s, 1m or 500ms", s)
	}
	*d = secondsFlag(v)
	return nil
}
