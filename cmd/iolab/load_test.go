package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"iolab/experiments"
	"iolab/internal/childtest"
	"iolab/loadgen"
	"iolab/models"
)

// loadTarget starts the epoll core with the bench app in-process and returns
// the URL of its /plaintext.
func loadTarget(t *testing.T) (string, models.Core) {
	t.Helper()
	core := childtest.StartCore(t, "epoll", "bench")
	return "http://" + core.Addr().String() + "/plaintext", core
}

// wrk's own lines, as the scripts written for wrk match them.
var (
	wrkRequestsRE = regexp.MustCompile(`(?m)^  (\d+) requests in ([0-9.]+)(us|ms|s|m|h), ([0-9.]+)([KMGTP]?)B read$`)
	wrkRPSRE      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)$`)
	benchLineRE   = regexp.MustCompile(`(?m)^(BenchmarkLoad/conns=4/pipeline=8)\t(\d+)\t[0-9.]+ ns/op\t[0-9.]+ req/s\t\d+ p99-us\t[0-9.]+ client-cpu-us/req$`)
)

func TestLoadText(t *testing.T) {
	url, _ := loadTarget(t)
	var out, errOut bytes.Buffer
	code := run([]string{"load", "-c", "4", "-t", "2", "-d", "300ms", "--pipeline", "8", "--latency",
		"--expect-status", "200", "--expect-body", "Hello, World!", url}, &out, &errOut)
	s := out.String()
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	m := wrkRequestsRE.FindStringSubmatch(s)
	if m == nil || m[1] == "0" || !wrkRPSRE.MatchString(s) {
		t.Fatalf("wrk's lines missing:\n%s", s)
	}
	for _, want := range []string{"closed-loop, pipeline depth 8", "Latency Distribution", "99.9%", "Timeline (per second)",
		"Errors: 0 (", "Accounting: sent", "Client CPU:", "Transfer/sec:"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q:\n%s", want, s)
		}
	}
	if !strings.Contains(errOut.String(), "iolab: connected in ") || !strings.Contains(errOut.String(), "loading for 300ms (closed loop, pipeline 8)") {
		t.Errorf("stderr: %q", errOut.String())
	}
	// The lines a runner on another host reads to sample the server.
	begins, ends := strings.Index(errOut.String(), experiments.WindowBeginsLine+"\n"), strings.Index(errOut.String(), experiments.WindowEndsLine+"\n")
	if begins < 0 || ends < begins {
		t.Errorf("stderr lacks the window's edges, in order: %q", errOut.String())
	}
}

func TestLoadJSONAndBench(t *testing.T) {
	url, _ := loadTarget(t)
	var out bytes.Buffer
	if code := run([]string{"load", "-c", "4", "-n", "2k", "--pipeline", "8", "--json", url}, &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var res loadgen.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json does not parse: %v\n%s", err, out.String())
	}
	if res.Requests != 2000 || res.Sent != 2000 || res.Histogram == "" || res.Loop != loadgen.ClosedLoop ||
		res.Config.Count != 2000 || len(res.Config.Requests) != 1 {
		t.Fatalf("%+v", res)
	}
	if h, err := res.DecodeHistogram(); err != nil || h.TotalCount() != 2000 {
		t.Fatalf("histogram: %v", err)
	}

	out.Reset()
	file := filepath.Join(t.TempDir(), "r.json")
	if code := run([]string{"load", "-c", "4", "-n", "800", "--pipeline", "8", "--bench", "--json=" + file, url}, &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !benchLineRE.MatchString(out.String()) || !wrkRequestsRE.MatchString(out.String()) {
		t.Fatalf("no benchmark line (or no summary):\n%s", out.String())
	}
	b, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(b, &res) != nil || res.Requests != 800 {
		t.Fatalf("--json=FILE: %v %s", err, b)
	}
}

func TestLoadOpenLoopAndPaths(t *testing.T) {
	url, _ := loadTarget(t)
	base := strings.TrimSuffix(url, "/plaintext")
	list := filepath.Join(t.TempDir(), "paths")
	if err := os.WriteFile(list, []byte("# rotation\n/plaintext\n\nGET /json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code := run([]string{"load", "-c", "2", "-d", "0.5", "--rate", "400", "--path", "@" + list, "--expect-status", "200",
		"--techempower-headers", "--json", base}, &out, io.Discard)
	var res loadgen.Result
	if code != exitOK || json.Unmarshal(out.Bytes(), &res) != nil {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	if res.Loop != loadgen.OpenLoop || res.Rate != 400 || res.Received < 150 || res.Errors.Total() != 0 ||
		len(res.Config.Requests) != 2 || !strings.Contains(res.Config.Requests[1], "GET /json HTTP/1.1\r\n") ||
		!strings.Contains(res.Config.Requests[0], "Accept: text/plain,text/html;q=0.9") {
		t.Fatalf("%+v", res)
	}
}

// TestLoadInterrupt: stopped early (SIGINT in real life), it still prints
// what it measured.
func TestLoadInterrupt(t *testing.T) {
	url, _ := loadTarget(t)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	var out, errOut bytes.Buffer
	began := time.Now()
	code := runContext(ctx, []string{"load", "-c", "2", "-d", "1m", url}, &out, &errOut)
	if code != exitOK || time.Since(began) > 5*time.Second {
		t.Fatalf("exit %d after %v: %s", code, time.Since(began), errOut.String())
	}
	if !wrkRequestsRE.MatchString(out.String()) || !strings.Contains(errOut.String(), "interrupted") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
}

// TestLoadErrors: every bad flag or URL is one line on stderr that names the
// flag and the fix, and exit status 2.
func TestLoadErrors(t *testing.T) {
	const url = "http://127.0.0.1:1/"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"load"}, "load takes one URL"},
		{[]string{"load", url, url}, "load takes one URL"},
		{[]string{"load", "https://127.0.0.1/"}, "URL: https is not supported"},
		{[]string{"load", "127.0.0.1:8080"}, "URL: \"127.0.0.1:8080\" has no scheme; write http://"},
		{[]string{"load", "ftp://h/"}, `URL: scheme "ftp" is not supported`},
		{[]string{"load", "-c", "0", url}, "--connections: 0 is not a positive number"},
		{[]string{"load", "-c", "lots", url}, `invalid argument "lots" for "-c, --connections" flag`},
		{[]string{"load", "-t", "0", url}, "--threads: 0 is not a positive number"},
		{[]string{"load", "--pipeline", "0", url}, "--pipeline: 0 is not a positive number"},
		{[]string{"load", "--pipeline", "5000", url}, "--pipeline: 5000 is not 1..1024"},
		{[]string{"load", "--rate", "-5", url}, `invalid argument "-5" for "--rate" flag`},
		{[]string{"load", "-d", "0", url}, "--duration: must be positive"},
		{[]string{"load", "-d", "soon", url}, `invalid argument "soon" for "-d, --duration" flag`},
		{[]string{"load", "-n", "0", url}, "--requests: 0 is not a positive number"},
		{[]string{"load", "-H", "NoColon", url}, "--header: \"NoColon\" is not NAME: VALUE"},
		{[]string{"load", "-H", "Transfer-Encoding: chunked", url}, "--header: Transfer-Encoding is not supported"},
		{[]string{"load", "--body", "@/nonexistent/body", url}, "--body: cannot read /nonexistent/body"},
		{[]string{"load", "--path", "plaintext", url}, "--path: entry 1 \"plaintext\" does not begin with /"},
		{[]string{"load", "--path", "@/nonexistent/list", url}, "--path: cannot read /nonexistent/list"},
		{[]string{"load", "--expect-status", "42", url}, "--expect-status: 42 is not a status code"},
		{[]string{"load", "--expect-body", "", url}, "--expect-body: empty"},
		{[]string{"load", "-T", "2m", url}, "--timeout: 2m0s is not 1ms..1m0s"},
		{[]string{"load", "--warmup", "-1s", url}, "--warmup: -1s is negative"},
		{[]string{"load", "--source-addrs", "127.0.0.9-127.0.0.2", url}, "--source-addrs: range"},
		{[]string{"load", "--max-response", "lots", url}, "--max-response: \"lots\" is not a size"},
		{[]string{"load", "--json", "--bench", url}, "--bench: both it and --json print to stdout"},
		{[]string{"load", "--json=/nonexistent/dir/r.json", url}, "--json: "},
		{[]string{"load", "--bogus", url}, "unknown flag: --bogus"},
	}
	for _, c := range cases {
		var errOut bytes.Buffer
		code := run(c.args, io.Discard, &errOut)
		msg := errOut.String()
		if code != exitUsage || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "iolab: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, msg, exitUsage, c.want)
		}
	}
	// Checks that need the system (a source address that is not local, too
	// few ports) come before anything else is printed: still one line.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"load", "--source-addrs", "192.0.2.1", url}, "--source-addrs: cannot bind 192.0.2.1"},
		{[]string{"load", "-c", "100k", url}, "--connections: 100000 connections to one target need at least"},
	} {
		var errOut bytes.Buffer
		code := run(c.args, io.Discard, &errOut)
		if msg := errOut.String(); code != exitUsage || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, msg, exitUsage, c.want)
		}
	}
	// A target that is not there is an error, not a usage error.
	var errOut bytes.Buffer
	if code := run([]string{"load", "-d", "1s", url}, io.Discard, &errOut); code != exitError ||
		!strings.Contains(errOut.String(), "cannot connect to 127.0.0.1:1") {
		t.Fatalf("exit %d: %q", code, errOut.String())
	}
}
