package loadgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The latency histogram's range and precision: microseconds, 1 µs to 60 s
// (MaxTimeout), 3 significant digits.
const (
	histMinUs  = 1
	histMaxUs  = int64(MaxTimeout / 1000)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMinUs, histMaxUs, histDigits) }

// Loop types, as Result.Loop states them.
const (
	ClosedLoop = "closed-loop"
	OpenLoop   = "open-loop"
)

// Result is what a run measured, over the measured window only (warm-up
// excluded). Counts are of requests whose send time (open loop: intended
// send time) falls in the window.
type Result struct {
	Target string `json:"target"`
	// Loop is ClosedLoop or OpenLoop; Rate is the open loop's requested
	// rate (requests per second in all).
	Loop        string  `json:"loop"`
	Rate        float64 `json:"rate"`
	Connections int     `json:"connections"`
	Threads     int     `json:"threads"`
	Pipeline    int     `json:"pipeline"`

	// Seconds is the measured window; ConnectSeconds the time taken to open
	// the connections before the load began; WarmupSeconds the warm-up.
	Seconds        float64 `json:"seconds"`
	ConnectSeconds float64 `json:"connect_seconds"`
	WarmupSeconds  float64 `json:"warmup_seconds"`

	// Requests is the responses received (wrk's "requests"); Bytes the bytes
	// read, BytesWritten the bytes written, in the window.
	Requests     uint64  `json:"requests"`
	Bytes        uint64  `json:"bytes"`
	BytesWritten uint64  `json:"bytes_written"`
	RPS          float64 `json:"rps"`
	BytesPerSec  float64 `json:"bytes_per_sec"`

	// Sent = Received + Lost + InFlight: every request sent was answered,
	// lost with its connection (counted as an error), or still in flight
	// when the window closed.
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	Lost     uint64 `json:"lost"`
	InFlight uint64 `json:"in_flight"`
	// Truncated counts the lost requests whose response had begun to
	// arrive when the connection ended: a response cut short, where a
	// graceful server closes only between responses.
	Truncated uint64 `json:"truncated"`
	// Open loop: Issued = Sent + Expired + Waiting: every request the
	// schedule made due in the window was sent, expired unsent (older than
	// the timeout; a timeout error), or still waiting when the window
	// closed (for room on its connection, or for a thread that woke late
	// to send it: the client fell behind its schedule).
	Issued  uint64 `json:"issued"`
	Expired uint64 `json:"expired"`
	Waiting uint64 `json:"waiting"`
	// Reconnects counts connections opened during the window, after one
	// was closed (by the server, a failure, a timeout, or the churn of
	// RequestsPerConn).
	Reconnects uint64 `json:"reconnects"`
	// ChurnCloses counts connections the load generator closed itself in
	// the window, after RequestsPerConn responses.
	ChurnCloses uint64 `json:"churn_closes,omitempty"`

	Status StatusCounts `json:"status"`
	Errors Errors       `json:"errors"`

	Latency  Latency  `json:"latency_us"`
	Timeline []Second `json:"timeline"`
	CPU      CPU      `json:"client_cpu"`
	Syscalls Syscalls `json:"client_syscalls"`

	// Histogram is the merged latency histogram (µs), in HdrHistogram's V2
	// compressed encoding, base64: what Merge and other HdrHistogram tools
	// read.
	Histogram string `json:"histogram"`

	// Interrupted reports a run stopped before its end (context ended).
	Interrupted bool `json:"interrupted,omitempty"`
	// Notes say what the run changed or noticed: a raised open-files
	// limit, threads capped, an early stop.
	Notes []string `json:"notes,omitempty"`
	// Hosts is how many results were merged into this one (1 for a run).
	Hosts  int      `json:"hosts"`
	Config Settings `json:"config"`

	hist *hdrhistogram.Histogram
}

// StatusCounts counts responses by status class.
type StatusCounts struct {
	S1xx uint64 `json:"1xx"`
	S2xx uint64 `json:"2xx"`
	S3xx uint64 `json:"3xx"`
	S4xx uint64 `json:"4xx"`
	S5xx uint64 `json:"5xx"`
}

// Errors counts failed requests by cause, and failed connection attempts.
type Errors struct {
	Connect uint64 `json:"connect"` // connection attempts that failed or timed out
	Read    uint64 `json:"read"`    // requests lost when the server closed or reset the connection
	Write   uint64 `json:"write"`   // requests lost when a write failed
	Timeout uint64 `json:"timeout"` // requests unanswered (or, open loop, unsent) after Timeout
	Parse   uint64 `json:"parse"`   // requests lost to a response that could not be framed
	Status  uint64 `json:"status"`  // responses with a status other than ExpectStatus
	Body    uint64 `json:"body"`    // responses with a body other than ExpectBody (or their path's ExpectBodies)
}

// Total is the sum of every category.
func (e Errors) Total() uint64 {
	return e.Connect + e.Read + e.Write + e.Timeout + e.Parse + e.Status + e.Body
}

// Latency summarises the latency histogram, in microseconds (each value
// within the histogram's precision: 3 significant digits).
type Latency struct {
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	Stdev float64 `json:"stdev"`
	P50   float64 `json:"p50"`
	P75   float64 `json:"p75"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	P9999 float64 `json:"p99_99"`
	Max   float64 `json:"max"`
	// WithinStdev is the share of requests within one standard deviation
	// of the mean (wrk's "+/- Stdev").
	WithinStdev float64 `json:"within_stdev"`
}

// Second is one second of the measured window.
type Second struct {
	Second   int     `json:"second"` // from the window's start
	Requests uint64  `json:"requests"`
	Errors   uint64  `json:"errors"`
	P99      float64 `json:"p99_us"` // 2 significant digits
}

// CPU is the client's own CPU time: its worker threads', over the window.
type CPU struct {
	UserSeconds   float64 `json:"user_seconds"`
	SystemSeconds float64 `json:"system_seconds"`
	// PerRequestUs is CPU microseconds (user + system) per response.
	PerRequestUs float64 `json:"us_per_request"`
	// Utilization is the CPU time over the time the worker threads could
	// have used (Seconds × Threads), 0..1.
	Utilization float64 `json:"utilization"`
	// Saturated reports Utilization above 90%: the client, not the server,
	// may have been the limit.
	Saturated bool `json:"saturated"`
}

// Syscalls counts the client's own syscalls in the window, by kind.
type Syscalls struct {
	EpollWait uint64 `json:"epoll_wait"` // polls and blocking waits
	Read      uint64 `json:"read"`
	Write     uint64 `json:"write"`
	Connect   uint64 `json:"connect"` // every call made to open a connection
	Close     uint64 `json:"close"`   // every call made to close one
	// PerRequest is the total over the responses received.
	PerRequest float64 `json:"per_request"`
}

// Total is the sum of every kind.
func (s Syscalls) Total() uint64 { return s.EpollWait + s.Read + s.Write + s.Connect + s.Close }

// Settings echoes the configuration a result was measured with.
type Settings struct {
	URL                string   `json:"url"`
	Requests           []string `json:"requests"` // each request of the rotation, as sent (a long one cut at 4 KiB)
	TechEmpowerHeaders bool     `json:"techempower_headers,omitempty"`
	BodyBytes          int      `json:"body_bytes,omitempty"`
	Duration           string   `json:"duration,omitempty"`
	Count              int64    `json:"count,omitempty"`
	Warmup             string   `json:"warmup,omitempty"`
	Timeout            string   `json:"timeout"`
	ExpectStatus       int      `json:"expect_status,omitempty"`
	ExpectBody         string   `json:"expect_body,omitempty"`
	ExpectBodies       []string `json:"expect_bodies,omitempty"`
	SourceAddrs        []string `json:"source_addrs,omitempty"`
	MaxResponse        int      `json:"max_response"`
}

// LoopString states the loop: "closed-loop", or "open-loop at R req/s".
func (r *Result) LoopString() string {
	if r.Loop == OpenLoop {
		return fmt.Sprintf("open-loop at %s req/s", trimFloat(r.Rate))
	}
	return r.Loop
}

// DecodeHistogram returns the latency histogram (µs).
func (r *Result) DecodeHistogram() (*hdrhistogram.Histogram, error) {
	if r.hist != nil {
		return r.hist, nil
	}
	if r.Histogram == "" {
		return newHist(), nil
	}
	h, err := hdrhistogram.Decode([]byte(r.Histogram))
	if err != nil {
		return nil, fmt.Errorf("result for %s: histogram: %w", r.Target, err)
	}
	r.hist = h
	return h, nil
}

// summarise fills Latency and Histogram from h, and the derived rates.
func (r *Result) summarise(h *hdrhistogram.Histogram) error {
	r.hist = h
	r.Latency = Latency{}
	if h.TotalCount() > 0 {
		v := h.ValueAtPercentiles([]float64{50, 75, 90, 99, 99.9, 99.99})
		f := func(p float64) float64 { return float64(v[p]) }
		r.Latency = Latency{Min: float64(h.Min()), Mean: h.Mean(), Stdev: h.StdDev(),
			P50: f(50), P75: f(75), P90: f(90), P99: f(99), P999: f(99.9), P9999: f(99.99), Max: float64(h.Max())}
		r.Latency.WithinStdev = withinStdev(h, r.Latency.Mean, r.Latency.Stdev)
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return fmt.Errorf("encoding the latency histogram: %w", err)
	}
	r.Histogram = string(enc)
	if r.Seconds > 0 {
		r.RPS = float64(r.Requests) / r.Seconds
		r.BytesPerSec = float64(r.Bytes) / r.Seconds
	}
	cpu := r.CPU.UserSeconds + r.CPU.SystemSeconds
	r.CPU.PerRequestUs, r.CPU.Utilization, r.Syscalls.PerRequest = 0, 0, 0
	if r.Requests > 0 {
		r.CPU.PerRequestUs = cpu * 1e6 / float64(r.Requests)
		r.Syscalls.PerRequest = float64(r.Syscalls.Total()) / float64(r.Requests)
	}
	return nil
}

// setUtilization sets CPU.Utilization against capacity thread-seconds.
func (r *Result) setUtilization(capacity float64) {
	if capacity > 0 {
		r.CPU.Utilization = (r.CPU.UserSeconds + r.CPU.SystemSeconds) / capacity
	}
	r.CPU.Saturated = r.CPU.Utilization > 0.9
}

func withinStdev(h *hdrhistogram.Histogram, mean, stdev float64) float64 {
	var in int64
	for _, b := range h.Distribution() {
		mid := float64(b.From+b.To) / 2
		if b.Count > 0 && mid >= mean-stdev && mid <= mean+stdev {
			in += b.Count
		}
	}
	return float64(in) / float64(h.TotalCount())
}

// --- text ---------------------------------------------------------------------

// WriteText writes a summary in wrk's layout, so that scripts written for
// wrk keep working: its "N requests in T, B read", "Requests/sec:",
// "Transfer/sec:", "Socket errors:" and "Non-2xx or 3xx responses:" lines
// are exactly wrk's. With latency, it adds the latency distribution and the
// per-second timeline.
func (r *Result) WriteText(w io.Writer, latency bool) error {
	var b strings.Builder
	dur := "count"
	if r.Config.Count > 0 {
		dur = fmt.Sprintf("%d-request", r.Config.Count)
	} else {
		dur = formatTimeUs(r.Seconds * 1e6)
	}
	fmt.Fprintf(&b, "Running %s test @ %s\n", dur, r.Target)
	fmt.Fprintf(&b, "  %d threads and %d connections\n", r.Threads, r.Connections)
	warm := ""
	if r.WarmupSeconds > 0 {
		warm = ", after a " + formatTimeUs(r.WarmupSeconds*1e6) + " warm-up"
	}
	if r.Loop == OpenLoop {
		fmt.Fprintf(&b, "  %s, at most %d in flight per connection; latency from each request's intended send time%s\n",
			r.LoopString(), r.Pipeline, warm)
	} else {
		fmt.Fprintf(&b, "  %s, pipeline depth %d; latency from each request's send time%s\n", r.LoopString(), r.Pipeline, warm)
	}
	l := r.Latency
	fmt.Fprintf(&b, "  Thread Stats   Avg      Stdev     Max   +/- Stdev\n")
	fmt.Fprintf(&b, "    Latency %s%s%s%8.2f%%\n", unitsCol(l.Mean, formatTimeUs), unitsCol(l.Stdev, formatTimeUs),
		unitsCol(l.Max, formatTimeUs), 100*l.WithinStdev)
	avg, sd, mx, within := r.reqPerSecPerThread()
	fmt.Fprintf(&b, "    Req/Sec %s%s%s%8.2f%%\n", unitsCol(avg, formatMetric), unitsCol(sd, formatMetric),
		unitsCol(mx, formatMetric), 100*within)
	if latency {
		b.WriteString("  Latency Distribution\n")
		for _, p := range []struct {
			label string
			v     float64
		}{{"50%", l.P50}, {"75%", l.P75}, {"90%", l.P90}, {"99%", l.P99}, {"99.9%", l.P999}, {"99.99%", l.P9999}, {"100%", l.Max}} {
			fmt.Fprintf(&b, "%8s%s\n", p.label, unitsCol(p.v, formatTimeUs))
		}
	}
	fmt.Fprintf(&b, "  %d requests in %s, %sB read\n", r.Requests, formatTimeUs(r.Seconds*1e6), formatBinary(float64(r.Bytes)))
	e := r.Errors
	if e.Connect+e.Read+e.Write+e.Timeout > 0 {
		fmt.Fprintf(&b, "  Socket errors: connect %d, read %d, write %d, timeout %d\n", e.Connect, e.Read, e.Write, e.Timeout)
	}
	if n := r.Status.S1xx + r.Status.S4xx + r.Status.S5xx; n > 0 {
		fmt.Fprintf(&b, "  Non-2xx or 3xx responses: %d\n", n)
	}
	fmt.Fprintf(&b, "  Errors: %d (connect %d, read %d, write %d, timeout %d, parse %d, status %d, body %d)\n",
		e.Total(), e.Connect, e.Read, e.Write, e.Timeout, e.Parse, e.Status, e.Body)
	fmt.Fprintf(&b, "  Accounting: sent %d = received %d + lost %d + in flight %d%s\n",
		r.Sent, r.Received, r.Lost, r.InFlight, balance(r.Sent == r.Received+r.Lost+r.InFlight))
	if r.Loop == OpenLoop {
		fmt.Fprintf(&b, "  Schedule: issued %d = sent %d + expired %d + waiting %d%s\n",
			r.Issued, r.Sent, r.Expired, r.Waiting, balance(r.Issued == r.Sent+r.Expired+r.Waiting))
	}
	if r.Truncated > 0 {
		fmt.Fprintf(&b, "  Truncated: %d responses cut short by the end of their connection\n", r.Truncated)
	}
	if r.Reconnects > 0 {
		fmt.Fprintf(&b, "  Reconnects: %d\n", r.Reconnects)
	}
	if r.ChurnCloses > 0 {
		fmt.Fprintf(&b, "  Churn: %d connections closed after their requests, and reopened\n", r.ChurnCloses)
	}
	sat := ""
	if r.CPU.Saturated {
		sat = " (saturated: the client may be the limit)"
	}
	fmt.Fprintf(&b, "  Client CPU: %.2fs user + %.2fs system = %.0f%% of %d threads%s, %.3f us/request\n",
		r.CPU.UserSeconds, r.CPU.SystemSeconds, 100*r.CPU.Utilization, r.Threads, sat, r.CPU.PerRequestUs)
	sc := r.Syscalls
	fmt.Fprintf(&b, "  Client syscalls: %.3f per request (epoll_wait %d, read %d, write %d, connect %d, close %d)\n",
		sc.PerRequest, sc.EpollWait, sc.Read, sc.Write, sc.Connect, sc.Close)
	if latency && len(r.Timeline) > 0 {
		b.WriteString("  Timeline (per second)\n      sec     requests     errors        p99\n")
		for _, s := range r.Timeline {
			fmt.Fprintf(&b, "  %7d %12d %10d %s\n", s.Second, s.Requests, s.Errors, unitsCol(s.P99, formatTimeUs))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  Note: %s\n", n)
	}
	fmt.Fprintf(&b, "Requests/sec: %9.2f\n", r.RPS)
	fmt.Fprintf(&b, "Transfer/sec: %10sB\n", formatBinary(r.BytesPerSec))
	_, err := io.WriteString(w, b.String())
	return err
}

func balance(ok bool) string {
	if ok {
		return ""
	}
	return " (DOES NOT BALANCE: a bug in loadgen)"
}

// reqPerSecPerThread derives wrk's Req/Sec row from the timeline: requests
// per second per thread, each second's count over the part of it inside the
// window (a last partial second counts only if it is at least half a second).
func (r *Result) reqPerSecPerThread() (avg, sd, mx, within float64) {
	var xs []float64
	for _, s := range r.Timeline {
		span := min(r.Seconds-float64(s.Second), 1)
		if span >= 0.5 || len(r.Timeline) == 1 && span > 0 {
			xs = append(xs, float64(s.Requests)/span/float64(max(r.Threads, 1)))
		}
	}
	if len(xs) == 0 {
		return 0, 0, 0, 0
	}
	for _, x := range xs {
		avg += x
		mx = max(mx, x)
	}
	avg /= float64(len(xs))
	for _, x := range xs {
		sd += (x - avg) * (x - avg)
	}
	sd = math.Sqrt(sd / float64(len(xs)))
	n := 0
	for _, x := range xs {
		if x >= avg-sd && x <= avg+sd {
			n++
		}
	}
	return avg, sd, mx, float64(n) / float64(len(xs))
}

// formatUnits is wrk's format_units: divide by scale while a larger unit
// exists, two decimals.
func formatUnits(n, scale float64, base string, units []string) string {
	unit := base
	for i := 0; n >= scale && i < len(units); i++ {
		n /= scale
		unit = units[i]
	}
	return fmt.Sprintf("%.2f%s", n, unit)
}

// formatTimeUs is wrk's format_time_us: "635.91us", "1.13ms", "10.00s", "1.00m".
func formatTimeUs(us float64) string {
	if us >= 1e6 {
		return formatUnits(us/1e6, 60, "s", []string{"m", "h"})
	}
	return formatUnits(us, 1000, "us", []string{"ms", "s"})
}

// formatBinary is wrk's format_binary: "150.00M" (the caller adds "B").
func formatBinary(n float64) string {
	return formatUnits(n, 1024, "", []string{"K", "M", "G", "T", "P"})
}

// formatMetric is wrk's format_metric: "12.34k".
func formatMetric(n float64) string {
	return formatUnits(n, 1000, "", []string{"k", "M", "G", "T", "P"})
}

// unitsCol is wrk's print_units at width 10: the number right-aligned so
// that the units line up whether they are one letter, two, or none.
func unitsCol(n float64, f func(float64) string) string {
	msg := f(n)
	pad := 2
	if l := len(msg); l > 0 && isAlpha(msg[l-1]) {
		pad--
		if l > 1 && isAlpha(msg[l-2]) {
			pad--
		}
	}
	return fmt.Sprintf("%*s%s", 10-pad, msg, strings.Repeat(" ", pad))
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func trimFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}

// --- benchmark line -----------------------------------------------------------------

// BenchLine formats the result as a Go benchmark line, so that benchstat can
// compare runs:
//
//	BenchmarkLoad/conns=256/pipeline=16  <N>  <ns/op> ns/op  <rps> req/s  <p99> p99-us  <cpu> client-cpu-us/req
//
// An empty name takes that default (with "/rate=R" in open loop); a name
// without the "Benchmark" prefix gets it, and whitespace becomes '_'.
func (r *Result) BenchLine(name string) string {
	if name == "" {
		name = fmt.Sprintf("BenchmarkLoad/conns=%d/pipeline=%d", r.Connections, r.Pipeline)
		if r.Loop == OpenLoop {
			name += "/rate=" + trimFloat(r.Rate)
		}
	}
	if !strings.HasPrefix(name, "Benchmark") {
		name = "Benchmark" + name
	}
	name = strings.Join(strings.Fields(name), "_")
	nsPerOp := 0.0
	if r.Requests > 0 {
		nsPerOp = r.Seconds * 1e9 / float64(r.Requests)
	}
	return fmt.Sprintf("%s\t%d\t%.1f ns/op\t%.0f req/s\t%.0f p99-us\t%.3f client-cpu-us/req",
		name, r.Requests, nsPerOp, r.RPS, r.Latency.P99, r.CPU.PerRequestUs)
}

// --- merging -----------------------------------------------------------------------

// Merge combines results of runs made at the same time (from several hosts,
// say, against one server) into one: counts, bytes, errors and CPU time are
// summed, the latency histograms decoded and merged (percentiles are
// recomputed from the merged histogram), and the rates added. Seconds is the
// longest window. Timelines are summed second by second; a merged second's
// p99 is the largest of the results' p99 for that second (an upper bound:
// per-second histograms are not kept). Every result must have the same loop
// type.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("loadgen.Merge: no results")
	}
	first := results[0]
	out := &Result{Target: first.Target, Loop: first.Loop, Pipeline: first.Pipeline, Config: first.Config}
	h := newHist()
	var capacity float64
	for i, r := range results {
		if r == nil {
			return nil, fmt.Errorf("loadgen.Merge: result %d is nil", i+1)
		}
		if r.Loop != first.Loop {
			return nil, fmt.Errorf("loadgen.Merge: result %d is %s, result 1 is %s; merge like with like", i+1, r.Loop, first.Loop)
		}
		rh, err := r.DecodeHistogram()
		if err != nil {
			return nil, fmt.Errorf("loadgen.Merge: result %d: %w", i+1, err)
		}
		if dropped := h.Merge(rh); dropped > 0 {
			return nil, fmt.Errorf("loadgen.Merge: result %d: %d latencies outside 1us..%v", i+1, dropped, MaxTimeout)
		}
		if r.Target != first.Target {
			out.Notes = appendOnce(out.Notes, "merged results have different targets")
		}
		out.Rate += r.Rate
		out.Connections += r.Connections
		out.Threads += r.Threads
		out.Pipeline = max(out.Pipeline, r.Pipeline)
		out.Seconds = max(out.Seconds, r.Seconds)
		out.ConnectSeconds = max(out.ConnectSeconds, r.ConnectSeconds)
		out.WarmupSeconds = max(out.WarmupSeconds, r.WarmupSeconds)
		out.Requests += r.Requests
		out.Bytes += r.Bytes
		out.BytesWritten += r.BytesWritten
		out.RPS += r.RPS
		out.BytesPerSec += r.BytesPerSec
		out.Sent += r.Sent
		out.Received += r.Received
		out.Lost += r.Lost
		out.InFlight += r.InFlight
		out.Truncated += r.Truncated
		out.Issued += r.Issued
		out.Expired += r.Expired
		out.Waiting += r.Waiting
		out.Reconnects += r.Reconnects
		out.ChurnCloses += r.ChurnCloses
		out.Status.S1xx += r.Status.S1xx
		out.Status.S2xx += r.Status.S2xx
		out.Status.S3xx += r.Status.S3xx
		out.Status.S4xx += r.Status.S4xx
		out.Status.S5xx += r.Status.S5xx
		out.Errors.Connect += r.Errors.Connect
		out.Errors.Read += r.Errors.Read
		out.Errors.Write += r.Errors.Write
		out.Errors.Timeout += r.Errors.Timeout
		out.Errors.Parse += r.Errors.Parse
		out.Errors.Status += r.Errors.Status
		out.Errors.Body += r.Errors.Body
		out.CPU.UserSeconds += r.CPU.UserSeconds
		out.CPU.SystemSeconds += r.CPU.SystemSeconds
		out.Syscalls.EpollWait += r.Syscalls.EpollWait
		out.Syscalls.Read += r.Syscalls.Read
		out.Syscalls.Write += r.Syscalls.Write
		out.Syscalls.Connect += r.Syscalls.Connect
		out.Syscalls.Close += r.Syscalls.Close
		capacity += r.Seconds * float64(r.Threads)
		out.Interrupted = out.Interrupted || r.Interrupted
		for _, s := range r.Timeline {
			for len(out.Timeline) <= s.Second {
				out.Timeline = append(out.Timeline, Second{Second: len(out.Timeline)})
			}
			t := &out.Timeline[s.Second]
			t.Requests += s.Requests
			t.Errors += s.Errors
			t.P99 = max(t.P99, s.P99)
		}
		for _, n := range r.Notes {
			out.Notes = appendOnce(out.Notes, n)
		}
		out.Hosts += max(r.Hosts, 1)
	}
	rps, bps := out.RPS, out.BytesPerSec
	if err := out.summarise(h); err != nil {
		return nil, err
	}
	out.RPS, out.BytesPerSec = rps, bps // concurrent runs: rates add up
	out.setUtilization(capacity)
	return out, nil
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
