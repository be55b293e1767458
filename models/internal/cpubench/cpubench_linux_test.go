package cpubench_test

import (
	"fmt"
	"testing"

	"iolab/models/internal/childtest"
	"iolab/models/internal/cpubench"
)

func TestMain(m *testing.M) { childtest.Main(m) }

// BenchmarkCPUPerRequest compares the cores (and epoll's trigger modes) by
// server CPU per TechEmpower plaintext request, the server
// pinned to CPU 0 and the client to CPU 1. Run with -count 3 or more: the
// sub-benchmarks alternate, and benchstat compares server-us/req:
//
//	go test -run '^$' -bench CPUPerRequest -count 5 ./models/internal/cpubench/ | tee cpu.txt
//	benchstat -col /model cpu.txt
func BenchmarkCPUPerRequest(b *testing.B) {
	for _, depth := range []int{16, 1} {
		for _, m := range []struct {
			name  string
			model string
			knobs []string
		}{
			{"epoll", "epoll", []string{"loops=1"}},
			{"epoll-level", "epoll", []string{"loops=1", "trigger=level"}},
			{"netstd", "netstd", nil},
			{"uring", "uring", []string{"loops=1"}},
		} {
			b.Run(fmt.Sprintf("depth=%d/model=%s", depth, m.name), func(b *testing.B) {
				cpubench.Run(b, m.model, m.knobs, 256, depth)
			})
		}
	}
}
