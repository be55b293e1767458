package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iolab/results"
)

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// iolabBinary builds the iolab binary once for the tests that run it as a
// separate process.
func iolabBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "iolab-test-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "iolab")
		built.out, built.err = exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build: %v\n%s", built.err, built.out)
	}
	return built.path
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
	bin := iolabBinary(t)
	file := writeExperiment(t, "kill", killExperiment)

	whole := t.TempDir()
	if out, err := exec.Command(bin, "run", "--quiet", "--results", whole, file).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := cellSet(t, runDir(t, whole))
	if len(want) != 8 {
		t.Fatalf("uninterrupted run: %d cells, want 8: %v", len(want), want)
	}

	cut := t.TempDir()
	cmd := exec.Command(bin, "run", "--quiet", "--results", cut, file)
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
	dir := runDir(t, cut)
	if kept := cellSet(t, dir); len(kept) < 3 || len(kept) >= 8 {
		t.Fatalf("killed after 3 cells, %d are recorded: %v", len(kept), kept)
	}

	out, err := exec.Command(bin, "run", "--quiet", "--resume", dir).CombinedOutput()
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

// TestServeExitWithParent: a server started with --exit-with-parent stops
// by itself once the process that started it has gone, as the server of a
// killed iolab run must.
func TestServeExitWithParent(t *testing.T) {
	bin := iolabBinary(t)
	// sh starts the server, says its pid, gives it a second to start (to
	// learn who its parent is) and exits: the server is orphaned.
	out, err := exec.Command("/bin/sh", "-c",
		`"$0" serve --exit-with-parent --model epoll --addr 127.0.0.1:0 >/dev/null 2>&1 & echo $!; sleep 1`, bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL) // ours, by pid
			t.Fatalf("the orphaned server (pid %d) is still running", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie, waiting for init to reap it,
// does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	state := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(state) > 0 && state[0] != "Z"
}

// TestRunRecordsFailures: a server that dies before it listens is a failed
// cell with its last words, a server that is not installed is a skipped
// one, and the run goes on to measure the rest.
func TestRunRecordsFailures(t *testing.T) {
	bin := iolabBinary(t)
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
	out, err := exec.Command(bin, "run", "--quiet", "--results", parent, file).CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out) // failed cells are results, not a failed run
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, "broken-*"))
	if len(dirs) != 1 {
		t.Fatalf("run directories: %v", dirs)
	}
	d, err := results.Open(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	cells, err := d.Cells()
	if err != nil {
		t.Fatal(err)
	}
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
	bin := iolabBinary(t)
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
	if out, err := exec.Command(bin, "run", "--quiet", "--dir", dir, file).CombinedOutput(); err != nil {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	first := started()
	if _, err := os.Stat(filepath.Join(dir, results.ReportFile)); err != nil {
		t.Errorf("no report in the run directory: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "NOTES.md"), []byte("kept"), 0o644)

	out, err := exec.Command(bin, "run", "--quiet", "--dir", dir, file).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--replace") {
		t.Fatalf("a second run into a run directory: %v\n%s", err, out)
	}
	if started() != first {
		t.Fatal("the refused run changed the first one")
	}
	if out, err := exec.Command(bin, "run", "--quiet", "--dir", dir, "--replace", file).CombinedOutput(); err != nil {
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
