// Package cpubench measures what a core costs per request, the way
// ../shared/bench/cpu_per_req.py does with wrk, from a Go benchmark: the core
// runs in a child process pinned to one CPU, this process drives it from
// another, and the figure is the child's CPU time (user and system) divided
// by the requests answered. Run several models as sub-benchmarks with
// -count N to have them alternate (A B A B ...), as the machine drifts.
package cpubench

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iolab/models"
	"iolab/models/affinity"
	"iolab/models/internal/childtest"
)

// Request is TechEmpower's plaintext request with its wrk headers.
const Request = "GET /plaintext HTTP/1.1\r\n" +
	"Host: tfb-server\r\n" +
	"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

// Run serves b.N plaintext requests with model (knobs) from conns
// connections pipelining depth requests each, and reports the server's
// CPU-µs per request ("server-us/req") and its requests per second.
func Run(b *testing.B, model string, knobs []string, conns, depth int) {
	if runtime.NumCPU() < 2 {
		b.Skip("needs two CPUs: one for the server, one for the client")
	}
	if err := affinity.PinSelf([]int{1}); err != nil {
		b.Skip("cannot pin the client: ", err)
	}
	child := childtest.Start(b, model, "bench", knobs, 0, 0)
	// Learn the response's length (fixed: the Date is too).
	probe, err := net.Dial("tcp", child.Addr)
	if err != nil {
		b.Fatal(err)
	}
	io.WriteString(probe, Request)
	buf := make([]byte, 4096)
	n, err := probe.Read(buf)
	if err != nil || !bytes.HasSuffix(buf[:n], []byte("Hello, World!")) {
		b.Fatalf("probe: %q %v", buf[:n], err)
	}
	respLen := n
	probe.Close()

	batch := []byte(strings.Repeat(Request, depth))
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.ResetTimer()
	cpu0, began := child.CPU(), time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", child.Addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			in := make([]byte, depth*respLen)
			for left.Add(-int64(depth)) > -int64(depth) {
				if _, err := c.Write(batch); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, in); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(began), child.CPU()-cpu0
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	rep := child.Stop()
	served := float64(rep.Stats.Get(models.Requests)) // as the server counted them
	if served < float64(b.N) {
		b.Fatalf("the server answered %.0f of %d requests", served, b.N)
	}
	b.ReportMetric(float64(cpu.Microseconds())/served, "server-us/req")
	b.ReportMetric(served/elapsed.Seconds(), "req/s")
}
