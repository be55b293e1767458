package loadgen

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fakeResult makes a result as a run would, with the given latencies (µs).
func fakeResult(t *testing.T, loop string, latencies ...int64) *Result {
	t.Helper()
	h := newHist()
	for _, v := range latencies {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	n := uint64(len(latencies))
	r := &Result{Target: "http://h/", Loop: loop, Connections: 10, Threads: 2, Pipeline: 1, Seconds: 2,
		Requests: n, Received: n, Sent: n + 1, InFlight: 1, Bytes: 100 * n, Hosts: 1,
		Status: StatusCounts{S2xx: n - 1, S5xx: 1}, Errors: Errors{Status: 1, Connect: 2},
		CPU:      CPU{UserSeconds: 1, SystemSeconds: 1},
		Timeline: []Second{{0, n / 2, 0, 10}, {1, n - n/2, 1, 20}}}
	if loop == OpenLoop {
		r.Rate, r.Issued = 50, n+1
	}
	if err := r.summarise(h); err != nil {
		t.Fatal(err)
	}
	r.setUtilization(r.Seconds * float64(r.Threads))
	return r
}

func TestMerge(t *testing.T) {
	a := fakeResult(t, ClosedLoop, 100, 200, 300)
	b := fakeResult(t, ClosedLoop, 50_000, 60_000)
	// Round trip through JSON first: merging works from the encoded
	// histograms, as it would for results from other hosts.
	for _, r := range []**Result{&a, &b} {
		buf, err := json.Marshal(*r)
		if err != nil {
			t.Fatal(err)
		}
		var back Result
		if err := json.Unmarshal(buf, &back); err != nil {
			t.Fatal(err)
		}
		*r = &back
	}
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	h, err := m.DecodeHistogram()
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 5 || m.Requests != 5 || m.Sent != 7 || m.InFlight != 2 || m.Errors.Connect != 4 ||
		m.Errors.Status != 2 || m.Status.S5xx != 2 || m.Connections != 20 || m.Threads != 4 || m.Hosts != 2 {
		t.Fatalf("merged %+v", m)
	}
	if m.Latency.Min > 100 || m.Latency.Max < 59_900 || m.Latency.P50 < 290 || m.Latency.P50 > 310 {
		t.Fatalf("latency %+v", m.Latency)
	}
	if m.RPS != a.RPS+b.RPS || m.Seconds != 2 || m.CPU.UserSeconds != 2 || m.CPU.Utilization != 0.5 {
		t.Fatalf("rps %v seconds %v cpu %+v", m.RPS, m.Seconds, m.CPU)
	}
	if len(m.Timeline) != 2 || m.Timeline[0].Requests != 1+1 || m.Timeline[1].Requests != 2+1 || m.Timeline[1].P99 != 20 {
		t.Fatalf("timeline %+v", m.Timeline)
	}
	if _, err := Merge(a, fakeResult(t, OpenLoop, 1)); err == nil || !strings.Contains(err.Error(), "open-loop") {
		t.Fatalf("mixed loops: %v", err)
	}
	bad := *a
	bad.hist, bad.Histogram = nil, "not base64!"
	if _, err := Merge(a, &bad); err == nil || !strings.Contains(err.Error(), "result 2") {
		t.Fatalf("bad histogram: %v", err)
	}
}

// TestWriteText: wrk's lines, exactly, for the scripts that parse them.
func TestWriteText(t *testing.T) {
	r := fakeResult(t, OpenLoop, 100, 200, 1500)
	r.Bytes = 157_286_400 // 150 MiB
	r.RPS, r.BytesPerSec = 123456.784, 15.5*1024*1024
	r.Errors.Read = 3
	var b strings.Builder
	if err := r.WriteText(&b, true); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{
		"Running 2.00s test @ http://h/\n",
		"  2 threads and 10 connections\n",
		"open-loop at 50 req/s",
		"  3 requests in 2.00s, 150.00MB read\n",
		"  Socket errors: connect 2, read 3, write 0, timeout 0\n",
		"  Non-2xx or 3xx responses: 1\n",
		"  Accounting: sent 4 = received 3 + lost 0 + in flight 1\n",
		"  Schedule: issued 4 = sent 4 + expired 0 + waiting 0\n",
		"  Latency Distribution\n     50%  200.00us\n",
		"    99%    1.50ms\n",
		"Requests/sec: 123456.78\n",
		"Transfer/sec:     15.50MB\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in:\n%s", want, s)
		}
	}
	// wrk's own regular expressions, as TechEmpower's toolset uses them.
	if !regexp.MustCompile(`(?m)^\s+Latency\s+[0-9.]+[mu]?s\s+[0-9.]+[mu]?s\s+[0-9.]+[mu]?s`).MatchString(s) {
		t.Errorf("Latency row not in wrk's form:\n%s", s)
	}
	if strings.Contains(s, "DOES NOT BALANCE") {
		t.Error(s)
	}
	b.Reset()
	if err := fakeResult(t, ClosedLoop, 1).WriteText(&b, false); err != nil || strings.Contains(b.String(), "Distribution") ||
		!strings.Contains(b.String(), "closed-loop, pipeline depth 1") {
		t.Fatalf("%v\n%s", err, b.String())
	}
}

func TestFormatUnits(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{formatTimeUs(635.914), "635.91us"}, {formatTimeUs(1130), "1.13ms"}, {formatTimeUs(10e6), "10.00s"},
		{formatTimeUs(90e6), "1.50m"}, {formatBinary(1536), "1.50K"}, {formatBinary(12), "12.00"},
		{formatMetric(12340), "12.34k"}, {unitsCol(1130, formatTimeUs), "    1.13ms"}, {unitsCol(12, formatMetric), "   12.00  "},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

var benchRE = regexp.MustCompile(`^(Benchmark\S+)\t(\d+)\t([0-9.]+) ns/op\t([0-9.]+) req/s\t(\d+) p99-us\t([0-9.]+) client-cpu-us/req$`)

func TestBenchLine(t *testing.T) {
	r := fakeResult(t, ClosedLoop, 100, 200, 300)
	m := benchRE.FindStringSubmatch(r.BenchLine(""))
	if m == nil || m[1] != "BenchmarkLoad/conns=10/pipeline=1" || m[2] != "3" || m[5] != strconv.FormatFloat(r.Latency.P99, 'f', 0, 64) {
		t.Fatalf("%q", r.BenchLine(""))
	}
	if ns, _ := strconv.ParseFloat(m[3], 64); ns < 2e9/3-1 || ns > 2e9/3+1 {
		t.Fatalf("ns/op %v", m[3])
	}
	if got := r.BenchLine("my run"); !strings.HasPrefix(got, "Benchmarkmy_run\t") {
		t.Fatalf("%q", got)
	}
	if got := fakeResult(t, OpenLoop, 1).BenchLine(""); !strings.HasPrefix(got, "BenchmarkLoad/conns=10/pipeline=1/rate=50\t") {
		t.Fatalf("%q", got)
	}
}
