// Package cpubench measures what a core costs per request, the way
// ../shared/bench/cpu_per_req.py does with wrk, from a Go benchmark: the core
// runs in a child process pinned to CPU 0, the load comes from CPU 1, and the
// figure is the child's CPU time (user and system) divided by the requests
// it answered. It also measures the load generators themselves, iolab's
// against wrk, on the same server. Run the benchmark binary once per round
// (not -count, which repeats each sub-benchmark back to back) so that the
// sub-benchmarks alternate (A B A B ...), as the machine drifts.
package cpubench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"iolab/internal/childtest"
	"iolab/loadgen"
	"iolab/models"
	"iolab/models/affinity"
)

// The CPUs: the server's and the load's.
const serverCPU, loadCPU = 0, 1

// pinLoad pins this process (the load side) to loadCPU, or skips.
func pinLoad(b *testing.B) {
	if cpus, _ := affinity.Allowed(); len(cpus) == 1 && cpus[0] == loadCPU {
		return // an earlier benchmark pinned us
	}
	if affinity.Count() < 2 {
		b.Skip("needs two CPUs: one for the server, one for the load")
	}
	if err := affinity.PinSelf([]int{loadCPU}); err != nil {
		b.Skip("cannot pin the load generator: ", err)
	}
}

// config is TechEmpower's plaintext load: its request headers, conns
// connections, depth requests pipelined on each, one load thread.
func config(addr string, conns, depth int) loadgen.Config {
	return loadgen.Config{URL: "http://" + addr + "/plaintext", TechEmpowerHeaders: true, Connections: conns,
		Pipeline: depth, Threads: 1, ExpectStatus: 200, ExpectBody: []byte("Hello, World!"), Timeout: 10 * time.Second}
}

// Run serves b.N plaintext requests with model (knobs) from conns
// connections pipelining depth requests each, driven by iolab's load
// generator, and reports the server's CPU-µs per request
// ("server-us/req"), the client's ("client-us/req") and requests per
// second.
func Run(b *testing.B, model string, knobs []string, conns, depth int) {
	pinLoad(b)
	child := childtest.Start(b, model, "bench", knobs, serverCPU, 0)
	cfg := config(child.Addr, conns, depth)
	cfg.Count = int64(max(b.N, conns*depth))
	b.ResetTimer()
	cpu0 := child.CPU()
	res, err := loadgen.Run(context.Background(), cfg)
	cpu := child.CPU() - cpu0
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors.Total() != 0 {
		b.Fatalf("errors: %+v", res.Errors)
	}
	served := float64(child.Stop().Stats.Get(models.Requests)) // as the server counted them
	if served < float64(cfg.Count) {
		b.Fatalf("the server answered %.0f of %d requests", served, cfg.Count)
	}
	b.ReportMetric(float64(cpu.Microseconds())/served, "server-us/req")
	b.ReportMetric(res.CPU.PerRequestUs, "client-us/req")
	b.ReportMetric(res.RPS, "req/s")
}

// window is how long one load generator run measures, after warmup.
const window, warmup = 3 * time.Second, time.Second

// Loader runs one window of load against an epoll core on CPU 0 from CPU 1,
// with loader "iolab" (this package's load generator, in process, one
// thread) or "wrk" (wrk -t1 with TechEmpower's pipeline script), and reports
// requests per second, the loader's CPU-µs per request and the server's.
// Each iteration is one window, so b.N does not scale it; the figures are
// the metrics, not ns/op.
func Loader(b *testing.B, loader string, conns, depth int) {
	pinLoad(b)
	child := childtest.Start(b, "epoll", "bench", []string{"loops=1"}, serverCPU, 0)
	for i := 0; i < b.N; i++ {
		var requests uint64
		var client time.Duration
		var seconds float64
		var cpu time.Duration
		switch loader {
		case "iolab":
			cfg := config(child.Addr, conns, depth)
			cfg.Duration, cfg.Warmup = window, warmup
			var cpu0 time.Duration
			cfg.OnWindow = func(begin bool) {
				if begin {
					cpu0 = child.CPU()
				} else {
					cpu = child.CPU() - cpu0
				}
			}
			res, err := loadgen.Run(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors.Total() != 0 {
				b.Fatalf("errors: %+v", res.Errors)
			}
			requests, seconds = res.Requests, res.Seconds
			client = time.Duration((res.CPU.UserSeconds + res.CPU.SystemSeconds) * float64(time.Second))
		case "wrk":
			wrk(b, child.Addr, conns, depth, warmup) // warm up, like the other
			cpu0 := child.CPU()
			requests, seconds, client = wrk(b, child.Addr, conns, depth, window)
			cpu = child.CPU() - cpu0
		default:
			b.Fatalf("unknown loader %q", loader)
		}
		b.ReportMetric(float64(requests)/seconds, "req/s")
		b.ReportMetric(float64(client.Microseconds())/float64(requests), "client-us/req")
		b.ReportMetric(float64(cpu.Microseconds())/float64(requests), "server-us/req")
	}
	child.Stop()
}

// pipelineScript is TechEmpower's pipelining for wrk: depth copies of the
// request in one send.
const pipelineScript = `wrk.headers["Accept"] = "` + loadgen.TechEmpowerAccept + `"
wrk.headers["Connection"] = "keep-alive"
init = function(args)
  local r = {}
  for i = 1, tonumber(args[1]) do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
`

var wrkSummary = regexp.MustCompile(`(\d+) requests in ([\d.]+)(ms|s)`)

// wrk runs wrk -t1 for d from this process's CPU and returns what it
// counted and the CPU it used (its rusage: it is our child).
func wrk(b *testing.B, addr string, conns, depth int, d time.Duration) (requests uint64, seconds float64, cpu time.Duration) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not installed (Debian package wrk)")
	}
	script := filepath.Join(b.TempDir(), "pipeline.lua")
	if err := os.WriteFile(script, []byte(pipelineScript), 0o644); err != nil {
		b.Fatal(err)
	}
	// wrk takes whole seconds ("500ms" is a usage error).
	cmd := exec.Command(path, "-t1", "-c", strconv.Itoa(conns), "-d", fmt.Sprintf("%ds", int(d.Seconds())),
		"-s", script, "http://"+addr+"/plaintext", "--", strconv.Itoa(depth))
	out, err := cmd.CombinedOutput() // inherits our pin to loadCPU
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Socket errors") || strings.Contains(string(out), "Non-2xx") {
		b.Fatalf("wrk saw errors:\n%s", out)
	}
	m := wrkSummary.FindStringSubmatch(string(out))
	if m == nil {
		b.Fatalf("wrk's output has no summary:\n%s", out)
	}
	requests, _ = strconv.ParseUint(m[1], 10, 64)
	seconds, _ = strconv.ParseFloat(m[2], 64)
	if m[3] == "ms" {
		seconds /= 1000
	}
	return requests, seconds, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}
