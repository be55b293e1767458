package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"iolab/experiments"
	"iolab/loadgen"
	"iolab/models"
	"iolab/results"
)

// iolabCmd runs this test binary as iolab (see TestMain) with args: the
// commands that must run as a process of their own, and `iolab run`, whose
// servers are os.Executable(), so the runner and its servers run under
// the race detector when the tests do.
func iolabCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envAsIolab+"=1")
	return cmd
}

// killExperiment is small enough to run three times in a test: two rows,
// two connection counts, two repeats of 300 ms each (8 cells).
const killExperiment = `name: kill
workload:
  path: /plaintext
  expect_body: "Hello, World!"
models:
  - model: netstd
  - model: epoll
    knobs: {loops: 1}
sweep:
  connections: [2, 4]
duration: 300ms
warmup: 0s
repeat: 2
`

// writeExperiment writes an experiment file NAME.yaml in a temporary
// directory and returns its path.
func writeExperiment(t *testing.T, name, src string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// cellSet reads the (key, repeat) pairs of a run directory, sorted, and
// fails on one that is there twice or did not measure.
func cellSet(t *testing.T, dir string) []string {
	t.Helper()
	d, err := results.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cells, err := d.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var set []string
	seen := map[string]bool{}
	for _, c := range cells {
		k := c.Key + "#" + strconv.Itoa(c.Repeat)
		if seen[k] {
			t.Errorf("%s: cell %s recorded twice", dir, k)
		}
		if !c.OK() {
			t.Errorf("%s: cell %s: %s %s", dir, k, c.Status, c.Reason)
		}
		seen[k] = true
		set = append(set, k)
	}
	sort.Strings(set)
	return set
}

// runDir is the one run directory under parent.
func runDir(t *testing.T, parent string) string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(parent, "kill-*"))
	if len(dirs) != 1 {
		t.Fatalf("run directories under %s: %v", parent, dirs)
	}
	return dirs[0]
}

// TestRunKillResume: an iolab run killed (SIGKILL, by pid) in the middle of
// its matrix keeps every cell it finished, leaves no server behind, and
// --resume completes it to the same set of cells as an uninterrupted run.
func TestRunKillResume(t *testing.T) {
	file := writeExperiment(t, "kill", killExperiment)

	whole := t.TempDir()
	if out, err := iolabCmd("run", "--quiet", "--results", whole, file).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := cellSet(t, runDir(t, whole))
	if len(want) != 8 {
		t.Fatalf("uninterrupted run: %d cells, want 8: %v", len(want), want)
	}

	cut := t.TempDir()
	cmd := iolabCmd("run", "--quiet", "--results", cut, file)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "[3/8]") {
	}
	// Mid-cell 4, most likely; wherever it lands, no finished cell may go.
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	checkCleanedUp(t, "", -1) // its server saw the end of its control input
	dir := runDir(t, cut)
	if kept := cellSet(t, dir); len(kept) < 3 || len(kept) >= 8 {
		t.Fatalf("killed after 3 cells, %d are recorded: %v", len(kept), kept)
	}

	out, err := iolabCmd("run", "--quiet", "--resume", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if got := cellSet(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("resumed run has cells\n%v\nwant\n%v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, results.ReportFile)); err != nil {
		t.Errorf("the resumed run wrote no report: %v", err)
	}
}

// TestRunRecordsFailures: a server that dies before it listens is a failed
// cell with its last words, a server that is not installed is a skipped
// one, and the run goes on to measure the rest.
func TestRunRecordsFailures(t *testing.T) {
	file := writeExperiment(t, "broken", `name: broken
workload:
  path: /plaintext
models:
  - model: epoll
    knobs: {loops: 1}
  - external: dies
    command: "echo the server gives up on {port} >&2; exit 3"
    ready: http://127.0.0.1:{port}/
  - external: absent
    command: iolab-no-such-server --port {port}
    ready: http://127.0.0.1:{port}/
sweep:
  connections: [2]
duration: 200ms
warmup: 0s
`)
	parent := t.TempDir()
	out, err := iolabCmd("run", "--quiet", "--results", parent, file).CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out) // failed cells are results, not a failed run
	}
	cells := cellsIn(t, filepath.Join(parent, "broken-*"))
	byRow := map[string]results.Cell{}
	for _, c := range cells {
		byRow[c.Row] = c
	}
	if c := byRow["epoll"]; !c.OK() || c.Requests == 0 {
		t.Errorf("epoll: %s %s, %d requests", c.Status, c.Reason, c.Requests)
	}
	if c := byRow["dies"]; c.Status != results.StatusFailed || !strings.Contains(c.Stderr, "the server gives up") {
		t.Errorf("dies: status %q, reason %q, stderr %q", c.Status, c.Reason, c.Stderr)
	}
	if c := byRow["absent"]; c.Status != results.StatusSkipped || !strings.Contains(c.Reason, "iolab-no-such-server") {
		t.Errorf("absent: status %q, reason %q", c.Status, c.Reason)
	}
	if !strings.Contains(string(out), "1 failed") {
		t.Errorf("the run's summary does not count the failure:\n%s", out)
	}
}

// TestRunDir: --dir puts the run in exactly that directory, as make
// reference does; a second run there is refused until --replace, which
// leaves one run, the new one, and whatever else was kept beside it.
func TestRunDir(t *testing.T) {
	file := writeExperiment(t, "fixed", `name: fixed
workload:
  path: /plaintext
  expect_body: "Hello, World!"
models:
  - model: epoll
    knobs: {loops: 1}
sweep:
  connections: [2]
duration: 200ms
warmup: 0s
`)
	dir := filepath.Join(t.TempDir(), "reference", "fixed")
	started := func() time.Time {
		t.Helper()
		d, err := results.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		cells, err := d.Cells()
		if err != nil || len(cells) != 1 || !cells[0].OK() {
			t.Fatalf("cells in %s: %v %+v", dir, err, cells)
		}
		return cells[0].Started
	}
	if out, err := iolabCmd("run", "--quiet", "--dir", dir, file).CombinedOutput(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	first := started()
	if _, err := os.Stat(filepath.Join(dir, results.ReportFile)); err != nil {
		t.Errorf("no report in the run directory: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("kept"), 0o644)

	out, err := iolabCmd("run", "--quiet", "--dir", dir, file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--replace") {
		t.Fatalf("a second run into a run directory: %v\n%s", err, out)
	}
	if started() != first {
		t.Fatal("the refused run changed the first one")
	}
	if out, err := iolabCmd("run", "--quiet", "--dir", dir, "--replace", file).CombinedOutput(); err != nil {
		t.Fatalf("replacing run: %v\n%s", err, out)
	}
	if !started().After(first) {
		t.Error("--replace kept the old cell")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "NOTES.md")); err != nil || string(b) != "kept" {
		t.Errorf("a file beside the run went: %v", err)
	}
	if dirs, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "fixed-*")); len(dirs) != 0 {
		t.Errorf("timestamped directories beside --dir: %v", dirs)
	}
}

// startRun starts `iolab run` as a user does, a process of its own, with
// the servers and load generators it starts as its children (the same
// binary). It returns the command and its output.
func startRun(t *testing.T, src string, args ...string) (*exec.Cmd, *lockedBuffer, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "experiment.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	cmd := iolabCmd(append(append([]string{"run", "--quiet", "--results", filepath.Join(dir, "results")}, args...), file)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, out, filepath.Join(dir, "results")
}

// runCells runs an experiment to its end and returns its cells.
func runCells(t *testing.T, src string) ([]results.Cell, string) {
	t.Helper()
	cmd, out, root := startRun(t, src)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("iolab run: %v\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("iolab run did not end within 2 minutes:\n%s", out.String())
	}
	return cellsIn(t, filepath.Join(root, "*")), out.String()
}

// cellsIn reads the cells of the one run directory that pattern (a glob)
// matches.
func cellsIn(t *testing.T, pattern string) []results.Cell {
	t.Helper()
	dirs, _ := filepath.Glob(pattern)
	if len(dirs) != 1 {
		t.Fatalf("%d run directories match %s: %v", len(dirs), pattern, dirs)
	}
	d, err := results.Open(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	cells, err := d.Cells()
	if err != nil {
		t.Fatal(err)
	}
	return cells
}

// checkDrained checks a drained cell's accounting: the load generators'
// merged count is the experiment's, and it is exactly the server's.
func checkDrained(t *testing.T, c results.Cell, want uint64) {
	t.Helper()
	if !c.OK() {
		t.Fatalf("cell %s: %s: %s\n%s", c.Key, c.Status, c.Reason, c.Stderr)
	}
	if !c.Drained || c.Requests != want || c.Counters["requests"] != want || c.ErrorCount() != 0 {
		t.Fatalf("cell %s: drained %v, the load generators count %d requests, the server %d (want %d), errors %v",
			c.Key, c.Drained, c.Requests, c.Counters["requests"], want, c.Errors)
	}
	h, err := (&loadgen.Result{Histogram: c.Histogram}).DecodeHistogram()
	if err != nil || uint64(h.TotalCount()) != want || c.Latency.P50 <= 0 {
		t.Fatalf("cell %s: the merged histogram holds %d latencies (%v), p50 %v", c.Key, h.TotalCount(), err, c.Latency.P50)
	}
	if c.ServerCPUSeconds <= 0 || c.ServerCPUUsPerReq <= 0 || c.ClientCPUUsPerReq <= 0 || c.RPS <= 0 {
		t.Fatalf("cell %s: server %v s (%v µs/req), client %v µs/req, %v req/s", c.Key, c.ServerCPUSeconds, c.ServerCPUUsPerReq, c.ClientCPUUsPerReq, c.RPS)
	}
}

// checkShares checks that each load generator did its share of the cell.
func checkShares(t *testing.T, c results.Cell, launcher string, conns []int, reqs []uint64) {
	t.Helper()
	h := c.Hosts
	if h == nil || h.Launcher != launcher || len(h.Loaders) != len(conns) {
		t.Fatalf("cell %s: hosts %+v", c.Key, h)
	}
	var rps float64
	for i, l := range h.Loaders {
		if l.Connections != conns[i] || reqs != nil && l.Requests != reqs[i] || l.Errors != 0 || l.P50 <= 0 || l.Host == "" {
			t.Errorf("cell %s: load generator %d: %+v; want %d connections, requests %v", c.Key, i+1, l, conns[i], reqs)
		}
		rps += l.RPS
	}
	if math.Abs(rps-c.RPS) > 1e-6*c.RPS {
		t.Errorf("cell %s: %v req/s, its load generators' add up to %v", c.Key, c.RPS, rps)
	}
}

const countExperiment = `name: %s
workload:
  path: /plaintext
  expect_body: "Hello, World!"
models:
  - model: epoll
    knobs: {loops: 1}
sweep:
  connections: [%s]
  pipeline: [4]
requests: %d
warmup: 0s
%s`

// TestRunLoadersLocal: load generators of their own, on this machine (no
// privilege needed): their results merge into the cell, their shares add
// up, and a count without warm-up is the server's count exactly. The load
// in the runner's own process keeps that accounting too.
func TestRunLoadersLocal(t *testing.T) {
	cells, out := runCells(t, fmt.Sprintf(countExperiment, "local-loaders", "8", 3000, "hosts: {loaders: 3}\n"))
	if len(cells) != 1 {
		t.Fatalf("%d cells:\n%s", len(cells), out)
	}
	checkDrained(t, cells[0], 3000)
	checkShares(t, cells[0], "local", []int{3, 3, 2}, []uint64{1000, 1000, 1000})

	cells, out = runCells(t, fmt.Sprintf(countExperiment, "in-process", "8", 2000, ""))
	if len(cells) != 1 || cells[0].Hosts != nil {
		t.Fatalf("%d cells, hosts %+v:\n%s", len(cells), cells[0].Hosts, out)
	}
	checkDrained(t, cells[0], 2000)
}

// netnsOrSkip skips where network namespaces cannot be made (no iproute2,
// not root, a sandbox that refuses them), saying why.
func netnsOrSkip(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command (Debian package iproute2)")
	}
	name := fmt.Sprintf("iolab-probe-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("network namespaces are refused here: ip netns add: %v: %s", err, bytes.TrimSpace(out))
	}
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns delete %s: %v: %s", name, err, out)
	}
}

// namespacesOf lists the network namespaces the run with this pid made.
func namespacesOf(t *testing.T, pid int) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], fmt.Sprintf("iolab-%d-", pid)) {
			ours = append(ours, f[0])
		}
	}
	return ours
}

// leftovers lists the processes other than this one running exe, this
// test binary when "" (each package's test binary is a file of its own, so
// every one of them is a server or load generator of this test's), with
// their command lines.
func leftovers(exe string) map[int]string {
	self, _ := os.Executable()
	if exe != "" {
		self = exe
	}
	procs := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == self && pid != os.Getpid() {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			procs[pid] = string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
	return procs
}

// checkCleanedUp checks that a run left no process behind, nor any
// namespace (when pid, the run's, is given).
func checkCleanedUp(t *testing.T, exe string, pid int) {
	t.Helper()
	if pid > 0 {
		if left := namespacesOf(t, pid); len(left) > 0 {
			t.Errorf("namespaces left behind: %v", left)
		}
	}
	// A process that was told to stop may take a moment to be reaped.
	deadline := time.Now().Add(5 * time.Second)
	for len(leftovers(exe)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if left := leftovers(exe); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// TestRunNetns is the multi-host path on one machine: the server in one
// network namespace, two load generators in two others, joined by veth
// pairs. The merged count equals the server's; a cell that fails is
// recorded and the run goes on; the namespaces go at the end.
func TestRunNetns(t *testing.T) {
	netnsOrSkip(t)
	// 70000 connections are more than two load generators have ports for
	// (one source address each): the second cell fails in the loaders.
	cmd, out, root := startRun(t, fmt.Sprintf(countExperiment, "netns-count", "8, 70000", 6000, "hosts: {launcher: netns, loaders: 2}\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("iolab run: %v\n%s", err, out.String())
	}
	checkCleanedUp(t, "", cmd.Process.Pid)
	cells := cellsIn(t, filepath.Join(root, "*"))
	if len(cells) != 2 {
		t.Fatalf("%d cells:\n%s", len(cells), out.String())
	}
	checkDrained(t, cells[0], 6000)
	checkShares(t, cells[0], "netns", []int{4, 4}, []uint64{3000, 3000})
	if h := cells[0].Hosts; !strings.HasPrefix(h.Server, "netns iolab-") || !strings.HasSuffix(h.Server, "-srv") ||
		!strings.HasSuffix(h.Loaders[1].Host, "-ld2") {
		t.Errorf("hosts %+v", h)
	}
	if c := cells[1]; c.Status != results.StatusFailed || !strings.Contains(c.Reason, "load: load generator ") || !strings.Contains(c.Reason, " (netns iolab-") ||
		!strings.Contains(c.Reason, "source addresses") {
		t.Errorf("cell %s: %s: %s; want a failure naming the load generator", c.Key, c.Status, c.Reason)
	}
}

// TestRunNetnsInterrupted: a cell measured at its window's edges (a
// duration after a warm-up, at 10,000 requests per second), from two
// namespaces; Ctrl-C during it stops
// the run after it, and the namespaces and processes are gone.
func TestRunNetnsInterrupted(t *testing.T) {
	netnsOrSkip(t)
	// An open loop, to keep the machine (shared with other tests) calm.
	src := strings.NewReplacer("requests: 0\nwarmup: 0s\n", "duration: 1s\nwarmup: 300ms\n", "  pipeline: [4]\n", "  pipeline: [4]\n  rate: [10000]\n").
		Replace(fmt.Sprintf(countExperiment, "netns-window", "16, 32", 0, "hosts: {launcher: netns, loaders: 2}\n"))
	cmd, out, root := startRun(t, src)
	// Ctrl-C once the first cell's server runs.
	deadline := time.Now().Add(30 * time.Second)
	for {
		serving := false
		for _, args := range leftovers("") {
			serving = serving || strings.Contains(args, " serve ")
		}
		if serving {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no server started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(namespacesOf(t, cmd.Process.Pid)) != 3 {
		t.Errorf("namespaces during the run: %v", namespacesOf(t, cmd.Process.Pid))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err == nil || !strings.Contains(out.String(), "finish with: iolab run --resume") {
		t.Fatalf("iolab run: %v; want it stopped before the end:\n%s", err, out.String())
	}
	checkCleanedUp(t, "", cmd.Process.Pid)
	cells := cellsIn(t, filepath.Join(root, "*"))
	if len(cells) != 1 || !cells[0].OK() {
		t.Fatalf("%d cells (want the one in progress, finished): %+v\n%s", len(cells), cells, out.String())
	}
	c := cells[0]
	checkShares(t, c, "netns", []int{8, 8}, nil)
	served := float64(c.Counters["requests"])
	// The server is sampled where both windows overlap, from the last
	// beginning to the first end: at a fixed rate its count is the load
	// generators' over that share of their window, near it (requests are in
	// flight at the edges), not equal. (Compared with the whole count, a
	// skew of 0.15 s on a busy machine was a 15% shortfall.)
	overlap := float64(c.Requests) * max(0, c.Seconds-c.Hosts.WindowSkewSeconds) / c.Seconds
	if c.Drained || c.Seconds < 0.9 || c.Hosts.WindowSkewSeconds > 0.25 || math.Abs(served-overlap) > 0.1*overlap {
		t.Fatalf("cell %s: drained %v, %v s, skew %v s, the load generators count %d requests (%.0f in the overlap), the server %v",
			c.Key, c.Drained, c.Seconds, c.Hosts.WindowSkewSeconds, c.Requests, overlap, served)
	}
}

// TestRunNetem: netem on one link only slows that link's load generator.
func TestRunNetem(t *testing.T) {
	netnsOrSkip(t)
	probe := fmt.Sprintf("iolab-probe-%d", os.Getpid())
	exec.Command("ip", "netns", "add", probe).Run()
	defer exec.Command("ip", "netns", "delete", probe).Run()
	if out, err := exec.Command("tc", "-n", probe, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").CombinedOutput(); err != nil {
		t.Skipf("the kernel refuses netem (CONFIG_NET_SCH_NETEM): tc: %v: %s", err, bytes.TrimSpace(out))
	}
	hosts := "hosts:\n  launcher: netns\n  loaders:\n    - {}\n    - netem: {delay: 2ms}\n"
	cells, out := runCells(t, fmt.Sprintf(countExperiment, "netns-netem", "8", 2000, hosts))
	if len(cells) != 1 {
		t.Fatalf("%d cells:\n%s", len(cells), out)
	}
	checkDrained(t, cells[0], 2000)
	l := cells[0].Hosts.Loaders
	// 2 ms each way: no answer on the second link comes within 4 ms.
	if l[1].P50 < 4000 || l[0].P50 >= 4000 {
		t.Fatalf("p50 %v µs on the plain link, %v µs on the delayed one", l[0].P50, l[1].P50)
	}
}

// TestServeControl: `serve --control` answers "stats" on stdout with its
// counters and CPU time, stops at the end of its input, and writes a final
// sample as it goes; its summary goes to stderr.
func TestServeControl(t *testing.T) {
	in, ctl := io.Pipe()
	outR, outW := io.Pipe()
	var errOut lockedBuffer
	o := &serveOptions{model: "epoll", app: "bench", addr: "127.0.0.1:0", drain: 5 * time.Second, control: true, stdin: in}
	done := make(chan error, 1)
	go func() {
		done <- o.run(t.Context(), nil, outW, &errOut)
		outW.Close()
	}()
	addr := waitBanner(t, errOut.String)
	lines := bufio.NewScanner(outR)
	ask := func() experiments.ServerSample {
		t.Helper()
		if _, err := io.WriteString(ctl, "stats\n"); err != nil {
			t.Fatal(err)
		}
		return nextSample(t, lines)
	}
	first := ask()
	get(t, "http://"+addr+"/plaintext")
	// A loop publishes its counters after the batch it answered, so a
	// sample taken as the answer arrives may not count it yet.
	second := ask()
	for deadline := time.Now().Add(5 * time.Second); second.Stats.Get(models.Requests) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		if next := ask(); next.Seq != second.Seq+1 {
			t.Fatalf("sample %d after %d", next.Seq, second.Seq)
		} else {
			second = next
		}
	}
	if first.Seq != 1 || first.Stats.Get(models.Requests) != 0 || second.Stats.Get(models.Requests) != 1 ||
		second.UserSeconds+second.SystemSeconds <= 0 || first.Final || second.Final {
		t.Fatalf("samples %+v then %+v", first, second)
	}
	ctl.Close()
	last := nextSample(t, lines)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !last.Final || last.Seq != second.Seq+1 || last.Stats.Get(models.Requests) != 1 || last.UserSeconds+last.SystemSeconds < second.UserSeconds+second.SystemSeconds {
		t.Fatalf("final sample %+v", last)
	}
	if lines.Scan() {
		t.Fatalf("stdout after the final sample: %q", lines.Text())
	}
	if s := errOut.String(); !strings.Contains(s, "end of the control input") || !strings.Contains(s, "served 1 requests") {
		t.Fatalf("stderr: %s", s)
	}
}

func nextSample(t *testing.T, lines *bufio.Scanner) experiments.ServerSample {
	t.Helper()
	got := make(chan experiments.ServerSample, 1)
	go func() {
		var s experiments.ServerSample
		if lines.Scan() {
			if err := json.Unmarshal(lines.Bytes(), &s); err != nil {
				s.Seq = -1
			}
		}
		got <- s
	}()
	select {
	case s := <-got:
		if s.Seq <= 0 {
			t.Fatalf("no sample on stdout (%q)", lines.Text())
		}
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no answer within 5s")
	}
	return experiments.ServerSample{}
}

// TestRunSSH runs the ssh launcher for real, where an sshd is at hand: the
// server and two load generators all on IOLAB_TEST_SSH (a destination this
// machine reaches without a password, like root@127.0.0.1, where the
// binary this test builds is at the same path: this machine, in practice),
// with IOLAB_TEST_SSH_PORT and IOLAB_TEST_SSH_IDENTITY if need be. CI has
// no sshd, and this test is skipped there.
func TestRunSSH(t *testing.T) {
	dest := os.Getenv("IOLAB_TEST_SSH")
	if dest == "" {
		t.Skip("set IOLAB_TEST_SSH=user@host (with IOLAB_TEST_SSH_PORT, IOLAB_TEST_SSH_IDENTITY) to run the ssh launcher against an sshd")
	}
	// Over ssh the remote runs a real iolab binary, at a path: this one.
	bin := filepath.Join(t.TempDir(), "iolab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	h := fmt.Sprintf("{host: %q, iolab: %q", dest, bin)
	if port := os.Getenv("IOLAB_TEST_SSH_PORT"); port != "" {
		h += ", port: " + port
	}
	if id := os.Getenv("IOLAB_TEST_SSH_IDENTITY"); id != "" {
		h += fmt.Sprintf(", identity: %q", id)
	}
	h += "}"
	hosts := fmt.Sprintf("hosts:\n  launcher: ssh\n  server: %s\n  loaders: [%s, %s]\n"+
		"  ssh_options: {StrictHostKeyChecking: accept-new, UserKnownHostsFile: %q}\n", h, h, h, filepath.Join(t.TempDir(), "known_hosts"))
	cells, out := runCells(t, fmt.Sprintf(countExperiment, "ssh-count", "8", 20000, hosts))
	if len(cells) != 1 {
		t.Fatalf("%d cells:\n%s", len(cells), out)
	}
	checkDrained(t, cells[0], 20000)
	checkShares(t, cells[0], "ssh", []int{4, 4}, []uint64{10000, 10000})
	checkCleanedUp(t, bin, -1)
}
