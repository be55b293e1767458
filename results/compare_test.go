package results

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// compareRun makes repeats of two rows at one point: uring's requests/s
// given, epoll's steady; server CPU given per row.
func compareRun(uringRPS []float64, uringCPU float64, extra ...string) []Cell {
	var cells []Cell
	epoll := []float64{600e3, 604e3, 598e3, 601e3, 603e3, 599e3}
	sweep := map[string]string{"connections": "256"}
	for i := range uringRPS {
		for j, row := range []string{"epoll", "uring"} {
			rps, cpu := epoll[i%len(epoll)], 1.3+0.01*float64(i%3)
			if row == "uring" {
				rps, cpu = uringRPS[i], uringCPU+0.01*float64(i%3)
			}
			cells = append(cells, Cell{Experiment: "cmp", Key: MakeKey(row, sweep), Index: j, Repeat: i + 1, Row: row,
				Sweep: sweep, Test: "plaintext", Connections: 256, Pipeline: 16, Status: StatusOK, RPS: rps,
				ServerCPUUsPerReq: cpu, ClientCPUUsPerReq: 0.5, Latency: Latency{P99: 900 + float64(i)}})
		}
	}
	for i, row := range extra {
		cells = append(cells, Cell{Experiment: "cmp", Key: MakeKey(row, nil), Index: 10 + i, Repeat: 1, Row: row,
			Test: "plaintext", Status: StatusFailed, Reason: "did not start"})
	}
	return cells
}

// TestCompare: uring's requests/s clearly rise, epoll's do not move; the
// first is a significant change, the second "~".
func TestCompare(t *testing.T) {
	old := compareRun([]float64{700e3, 702e3, 698e3, 701e3, 699e3, 703e3}, 0.9, "nginx")
	cur := compareRun([]float64{800e3, 805e3, 798e3, 802e3, 799e3, 801e3}, 0.9, "h2o")
	var b bytes.Buffer
	if err := Compare(&b, old, cur, 0.05); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	line := func(section, key string) string {
		t.Helper()
		_, after, ok := strings.Cut(out, section+" (")
		if !ok {
			t.Fatalf("no %s table:\n%s", section, out)
		}
		after, _, _ = strings.Cut(after, "\n\n")
		for _, l := range strings.Split(after, "\n") {
			if strings.HasPrefix(l, key+" ") {
				return l
			}
		}
		t.Fatalf("no %s line in %s:\n%s", key, section, out)
		return ""
	}
	if l := line("req/s", "plaintext/row=uring/connections=256"); !regexp.MustCompile(`700k ±\S+\s+800k ±\S+\s+\+14\.\d\d%\s+p=0\.002 n=6`).MatchString(l) {
		t.Errorf("uring's change is not shown as significant: %q", l)
	}
	if l := line("req/s", "plaintext/row=epoll/connections=256"); !regexp.MustCompile(`\s~\s+p=1\.000 n=6`).MatchString(l) {
		t.Errorf("epoll's steady requests/s are not ~: %q", l)
	}
	if l := line("server-µs/req", "plaintext/row=uring/connections=256"); !strings.Contains(l, " ~ ") {
		t.Errorf("uring's unchanged CPU is not ~: %q", l)
	}
	for _, want := range []string{"only in old (removed):\n  plaintext/row=nginx", "only in new (added):\n  plaintext/row=h2o",
		"± is the 95% confidence interval of the median", "Mann-Whitney U test, p > 0.05", "geomean"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimRight(l, " ") != l {
			t.Errorf("trailing space: %q", l)
		}
	}
}

// TestCompareFewRepeats: with three repeats a side no difference can be
// significant at 0.05; the spread is the range, marked, and a note says
// how many repeats are needed.
func TestCompareFewRepeats(t *testing.T) {
	old := compareRun([]float64{700e3, 702e3, 698e3}, 0.9)
	cur := compareRun([]float64{900e3, 905e3, 898e3}, 0.5)
	var b bytes.Buffer
	if err := Compare(&b, old, cur, 0.05); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"700k ±0%*", "~", "range (min..max)", "note: need >= 4 samples to detect a difference at alpha level 0.05"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCompareEdges(t *testing.T) {
	var b bytes.Buffer
	if err := Compare(&b, nil, nil, 0.05); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No key is in both runs") {
		t.Errorf("empty runs: %q", b.String())
	}
	if err := Compare(&b, nil, nil, 0); err == nil || !strings.Contains(err.Error(), "between 0 and 1") {
		t.Errorf("alpha 0: %v", err)
	}
	// A key that failed on one side shows as failed, without a delta.
	old := compareRun([]float64{700e3, 702e3}, 0.9)
	cur := compareRun([]float64{700e3, 702e3}, 0.9)
	for i := range cur {
		if cur[i].Row == "uring" {
			cur[i].Status, cur[i].RPS = StatusFailed, 0
		}
	}
	b.Reset()
	if err := Compare(&b, old, cur, 0.05); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`row=uring/connections=256\s+701k ±0%\*\s+failed\n`).MatchString(b.String()) {
		t.Errorf("a failed side:\n%s", b.String())
	}
}
