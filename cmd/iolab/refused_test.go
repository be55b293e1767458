package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"iolab/models/uring/uringtest"
	"iolab/results"
)

// The test binary doubles as iolab: with envAsIolab set it runs the command
// line instead of the tests, and with envDenyIOURing it first refuses
// io_uring to itself and every process it starts (a seccomp filter, as a
// container profile would). `iolab run` starts `iolab serve` as
// os.Executable(), so the servers it spawns are this binary too, under the
// same filter, and the experiment runner runs under the race detector when
// the tests do.
const (
	envAsIolab     = "IOLAB_TEST_AS_IOLAB"
	envDenyIOURing = "IOLAB_TEST_DENY_IO_URING"
)

func TestMain(m *testing.M) {
	if os.Getenv(envAsIolab) == "1" {
		if os.Getenv(envDenyIOURing) == "1" {
			if err := uringtest.DenyIOURing(); err != nil {
				fmt.Fprintln(os.Stderr, "test: cannot refuse io_uring:", err)
				os.Exit(3)
			}
		}
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// refusedIolab is an iolab command where io_uring is refused.
func refusedIolab(args ...string) *exec.Cmd {
	cmd := iolabCmd(args...)
	cmd.Env = append(cmd.Env, envDenyIOURing+"=1")
	return cmd
}

// TestServeRefused: where io_uring is refused, `iolab serve --model uring`
// fails at start with one line saying why, and the other cores serve.
func TestServeRefused(t *testing.T) {
	out, err := refusedIolab("serve", "--model", "uring", "--addr", "127.0.0.1:0").CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err == nil || len(lines) != 1 || !strings.Contains(lines[0], "unavailable here") ||
		!strings.Contains(lines[0], "io_uring_setup") || !strings.Contains(lines[0], "seccomp") {
		t.Fatalf("serve --model uring with io_uring refused: %v, output:\n%s\nwant a failure and one line saying why", err, out)
	}
	for _, model := range []string{"netstd", "epoll"} {
		cmd := refusedIolab("serve", "--model", model, "--addr", "127.0.0.1:0")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		if !sc.Scan() || !strings.Contains(sc.Text(), "serving") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s with io_uring refused: %q", model, sc.Text())
		}
		addr := bannerRE.FindStringSubmatch(sc.Text())
		if addr == nil {
			t.Fatalf("no address in %q", sc.Text())
		}
		if got := get(t, "http://"+addr[1]+"/plaintext"); got != "Hello, World!" {
			t.Fatalf("%s: %q", model, got)
		}
		cmd.Process.Signal(syscall.SIGTERM) // by pid
		go func() {
			for sc.Scan() {
			}
		}()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
	}
}

// TestRunRefused: where io_uring is refused, `iolab run` records the uring
// cells as skipped, with the reason, and measures every other row.
func TestRunRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment")
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "refused.yaml")
	os.WriteFile(spec, []byte(`name: refused
workload:
  test: plaintext
  path: /plaintext
  expect_body: "Hello, World!"
models:
  - model: netstd
  - model: epoll
    knobs: {loops: 1}
  - model: uring
    knobs: {loops: 1}
sweep:
  connections: [4]
duration: 300ms
warmup: 100ms
repeat: 1
`), 0o644)
	cmd := refusedIolab("run", "--quiet", "--results", dir, spec)
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("iolab run: %v\n%s", err, out)
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("iolab run did not finish")
	}
	cells := cellsIn(t, filepath.Join(dir, "refused-*"))
	seen := map[string]string{}
	for _, c := range cells {
		b, _ := json.Marshal(c)
		switch {
		case c.Model == "uring" && (c.Status != results.StatusSkipped || !strings.Contains(c.Reason, "unavailable here") ||
			!strings.Contains(c.Reason, "seccomp")):
			t.Errorf("uring cell not skipped with the reason: %s", b)
		case c.Model != "uring" && (c.Status != results.StatusOK || c.Requests == 0):
			t.Errorf("%s cell did not measure: %s", c.Model, b)
		}
		seen[c.Model] = c.Status
	}
	if len(seen) != 3 {
		t.Fatalf("cells by model: %v\n%s", seen, out)
	}
}
