//go:build unix

package results

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromiumPath is Debian's chromium, which .ci/run installs (packages
// chromium and fonts-liberation).
const chromiumPath = "/usr/bin/chromium"

// runChromium loads url in headless Chromium with extra flags and returns
// its stdout and its stderr, where it logs the page's console messages.
func runChromium(t *testing.T, url string, extra ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, extra...)
	cmd := exec.CommandContext(ctx, chromiumPath, append(args, url)...)
	// Chromium starts helper processes; on a timeout, stop them all with
	// it, by the group it leads, rather than leave them holding the pipes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(extra, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// consoleLines are the page's console messages in Chromium's log.
func consoleLines(stderr string) []string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "CONSOLE") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestReportChromium opens a rendered report.html in headless Chromium:
// the page must load from disk with no console error, have the title, the
// tables and the charts inline, and the screenshot is kept for a person
// to look at.
func TestReportChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("headless Chromium is not installed (%v); .ci/run installs it: apt-get install chromium fonts-liberation", err)
	}
	cells := sampleCells()
	for i, conns := range []int{16, 64} {
		for j, row := range []string{"epoll", "uring"} {
			sweep := map[string]string{"connections": strconv.Itoa(conns)}
			cells = append(cells, Cell{Experiment: "demo", Key: MakeKey(row, sweep), Index: 10 + 2*i + j, Repeat: 1, Row: row,
				Sweep: sweep, Test: "plaintext", Connections: conns, Pipeline: 16, Status: StatusOK, RPS: float64(conns) * 3000,
				ServerCPUUsPerReq: 0.7, SyscallsPerReq: 0.5, CQEsPerEnter: float64(3 * j), Latency: Latency{P50: 80, P99: 700, Max: 3000}})
		}
	}
	cells[4].Stderr = "<script>console.error('injected')</script>" // the report must escape a server's last words
	d := renderTestDir(t, cells, true, true)
	files, err := RenderFiles(d)
	if err != nil {
		t.Fatal(err)
	}
	charts := (len(files) - 3) / 2
	url := "file://" + d.File(ReportFile)

	// The check below is only as good as Chromium's logging of console
	// messages: make sure, on this Chromium, that an error is seen.
	canary := filepath.Join(t.TempDir(), "canary.html")
	os.WriteFile(canary, []byte(`<!DOCTYPE html><title>canary</title><script>console.error("canary")</script>`), 0o644)
	if _, stderr := runChromium(t, "file://"+canary, "--dump-dom"); len(consoleLines(stderr)) == 0 {
		t.Fatalf("chromium logged no console message for a page that makes one; the check cannot work with these flags:\n%s", stderr)
	}

	dom, stderr := runChromium(t, url, "--dump-dom")
	if lines := consoleLines(stderr); len(lines) > 0 {
		t.Errorf("console messages from report.html:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(dom, "<title>demo · iolab report</title>") {
		t.Errorf("the DOM has not the report's title:\n%.2000s", dom)
	}
	if n := strings.Count(dom, "<table"); n < 4 {
		t.Errorf("%d tables in the DOM; want results, failures, environment and io_uring", n)
	}
	if n := strings.Count(dom, "<svg"); n != charts || n == 0 {
		t.Errorf("%d inline SVG elements in the DOM for %d charts", n, charts)
	}
	if strings.Contains(dom, "<script") || !strings.Contains(dom, "&lt;script&gt;console.error") {
		t.Error("a server's stderr was not escaped")
	}

	dir := os.Getenv("IOLAB_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report-chromium.png")
	os.Remove(shot)
	_, stderr = runChromium(t, url, "--screenshot="+shot, "--window-size=1280,2400")
	if lines := consoleLines(stderr); len(lines) > 0 {
		t.Errorf("console messages while taking the screenshot:\n%s", strings.Join(lines, "\n"))
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, stderr)
	}
	defer f.Close()
	img, err := png.DecodeConfig(f)
	if err != nil || img.Width != 1280 || img.Height != 2400 {
		t.Errorf("screenshot %s: %+v, %v; want a 1280x2400 PNG", shot, img, err)
	}
	t.Logf("screenshot of report.html: %s", shot)
}
