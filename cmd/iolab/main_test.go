package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iolab/models"
)

// lockedBuffer is written by the command and read by the test meanwhile.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != exitOK || !strings.HasPrefix(out.String(), "iolab ") {
		t.Fatalf("exit %d, %q %q", code, out.String(), errOut.String())
	}
}

func TestModels(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"models"}, &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"idle_timeout", "max_body", "netstd:", "read_buffer", "16KiB"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("models output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"models", "--json"}, &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		CommonKnobs []knobJSON  `json:"common_knobs"`
		Models      []modelJSON `json:"models"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.CommonKnobs) != len(models.CommonKnobs) || len(doc.Models) != len(models.Names()) {
		t.Fatalf("json: %d common knobs, %d models", len(doc.CommonKnobs), len(doc.Models))
	}
	for _, m := range doc.Models {
		if m.Name == "netstd" && (len(m.Knobs) != 2 || m.Knobs[0].Name != "read_buffer" || !m.Available || m.Peer) {
			t.Fatalf("netstd: %+v", m)
		}
		if m.Name == "fasthttp" && !m.Peer {
			t.Fatalf("fasthttp is not marked a peer: %+v", m)
		}
	}
}

// TestErrors: every mistake is one line on stderr that names what is wrong,
// and a usage exit status.
func TestErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--model", "nope"}, `unknown model "nope" (known: `},
		{[]string{"serve", "--app", "nope"}, `unknown app "nope" (known: bench, echo, nethttp:bench, nethttp:echo, nethttp:static, static)`},
		{[]string{"serve", "--app", "static"}, `--static-dir`},
		{[]string{"serve", "--model", "nethttp", "--knob", "handler=offload"}, `handler=offload belongs to iolab's cores`},
		{[]string{"serve", "--knob", "nope=1"}, `unknown knob "nope"`},
		{[]string{"serve", "--knob", "read_buffer=12"}, `knob read_buffer: "12" is out of range; allowed: 512..1MiB`},
		{[]string{"serve", "--knob", "idle_timeout"}, `want NAME=VALUE`},
		{[]string{"serve", "--drain-timeout", "0s"}, `--drain-timeout must be positive`},
		{[]string{"serve", "--stats-json", "/nonexistent/dir/x.json"}, `--stats-json`},
		{[]string{"serve", "--bogus"}, `unknown flag: --bogus`},
		{[]string{"serve", "extra"}, `unknown command "extra"`},
		{[]string{"nope"}, `unknown command "nope"`},
	}
	for _, c := range cases {
		var errOut bytes.Buffer
		code := run(c.args, io.Discard, &errOut)
		msg := errOut.String()
		if code != exitUsage || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "iolab: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, msg, exitUsage, c.want)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range newRootCmd(io.Discard, io.Discard).Commands() {
		if cmd.Example == "" {
			t.Errorf("%s --help has no example", cmd.Name())
		}
	}
}

var bannerRE = regexp.MustCompile(`serving \w+ with \w+ on (\S+) \(pid \d+, open files limit (raised from \d+ to )?\d+\)`)

// waitBanner waits for serve's first line and returns the address.
func waitBanner(t *testing.T, lines func() string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := bannerRE.FindStringSubmatch(lines()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no banner: %q", lines())
	return ""
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestServe(t *testing.T) {
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut lockedBuffer
	code := make(chan int)
	go func() {
		code <- runContext(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--knob", "read_buffer=4KiB",
			"--stats-json", statsFile}, &out, &errOut)
	}()
	addr := waitBanner(t, errOut.String)
	if !strings.Contains(errOut.String(), "knobs: read_buffer=4KiB") {
		t.Errorf("banner does not show the knob set: %q", errOut.String())
	}
	if got := get(t, "http://"+addr+"/plaintext"); got != "Hello, World!" {
		t.Fatalf("plaintext: %q", got)
	}
	if got := get(t, "http://"+addr+"/json"); got != `{"message":"Hello, World!"}` {
		t.Fatalf("json: %q", got)
	}
	cancel()
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit %d: %s", c, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(out.String(), "requests                         2") {
		t.Errorf("counters not printed:\n%s", out.String())
	}
	var rep models.Report
	b, err := os.ReadFile(statsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Model != "netstd" || rep.App != "bench" || rep.Stats.Get(models.Requests) != 2 || rep.Knobs["read_buffer"] != "4KiB" {
		t.Fatalf("report %+v", rep)
	}
}

// TestServeSignal runs iolab serve as a process of its own, pinned with
// --cpus (which must not be tried in this process: it would pin the
// tests), and stops it with SIGTERM, by pid.
func TestServeSignal(t *testing.T) {
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	cmd := iolabCmd("serve", "--model", "netstd", "--app", "echo", "--addr", "127.0.0.1:0", "--stats-json", statsFile,
		"--cpus", "0")
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var lines lockedBuffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines.Write(append(sc.Bytes(), '\n'))
		}
	}()
	addr := waitBanner(t, lines.String)
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", cmd.Process.Pid))
	for _, task := range tasks {
		if st, err := os.ReadFile(task); err == nil && !strings.Contains(string(st), "Cpus_allowed_list:\t0\n") {
			t.Errorf("--cpus 0: a thread of the server may run elsewhere: %s", task)
		}
	}
	if len(tasks) == 0 {
		t.Error("no threads of the server found in /proc")
	}
	res, err := http.Post("http://"+addr+"/anything", "text/plain", strings.NewReader("echoed"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "echoed" {
		t.Fatalf("echo: %q", body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, lines.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	var rep models.Report
	b, _ := os.ReadFile(statsFile)
	if err := json.Unmarshal(b, &rep); err != nil || rep.Stats.Get(models.Requests) != 1 {
		t.Fatalf("stats %s: %v", b, err)
	}
}

func TestProbe(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"probe"}, &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"kernel", "io_uring", "RLIMIT_MEMLOCK", "RLIMIT_NOFILE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("probe output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"probe", "--json"}, &out, io.Discard); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var r struct {
		Kernel  string `json:"kernel"`
		Enabled bool   `json:"io_uring_enabled"`
		Why     string `json:"why_not"`
		Ops     []string
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Kernel == "" || r.Enabled == (r.Why != "") || r.Enabled && len(r.Ops) == 0 {
		t.Fatalf("probe JSON %+v", r)
	}
}

// TestServeSnapshot: SIGUSR1 writes the counters and the server serves on.
func TestServeSnapshot(t *testing.T) {
	statsFile := filepath.Join(t.TempDir(), "stats.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errOut lockedBuffer
	snap := make(chan os.Signal, 1)
	o := &serveOptions{model: "epoll", app: "bench", addr: "127.0.0.1:0", statsJSON: statsFile, drain: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- o.run(ctx, snap, io.Discard, &errOut) }()
	addr := waitBanner(t, errOut.String)
	read := func() models.Report {
		var rep models.Report
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(statsFile); err == nil && json.Unmarshal(b, &rep) == nil {
				return rep
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no report written")
		return rep
	}
	get(t, "http://"+addr+"/plaintext")
	// A loop publishes its counters after the write that answered, so a
	// snapshot taken as the answer arrives may not count it yet: ask again.
	var first models.Report
	for seq := 1; seq <= 50; seq++ {
		snap <- syscall.SIGUSR1
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if first = read(); first.Seq >= seq {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SIGUSR1 %d: no report within 5s (last %+v)", seq, first)
			}
		}
		if first.Seq != seq || first.Final {
			t.Fatalf("snapshot %d: %+v", seq, first)
		}
		if first.Stats.Get(models.Requests) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if first.Stats.Get(models.Requests) != 1 {
		t.Fatalf("snapshots never counted the request: %+v", first)
	}
	get(t, "http://"+addr+"/plaintext")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if last := read(); last.Seq != first.Seq+1 || !last.Final || last.Stats.Get(models.Requests) != 2 {
		t.Fatalf("final report %+v", last)
	}
}
