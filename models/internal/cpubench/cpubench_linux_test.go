package cpubench_test

import (
	"fmt"
	"testing"

	"iolab/internal/childtest"
	"iolab/models/internal/cpubench"
)

func TestMain(m *testing.M) { childtest.Main(m) }

// BenchmarkCPUPerRequest compares the cores (and epoll's variants) by server
// CPU per TechEmpower plaintext request at 256 connections, the server
// pinned to CPU 0 and the load generator to CPU 1. -count would repeat each
// sub-benchmark back to back; to alternate them (A B A B ...), run the
// binary once per round, and let benchstat compare server-us/req:
//
//	for i in 1 2 3 4 5; do go test -run '^$' -bench CPUPerRequest ./models/internal/cpubench/; done | tee cpu.txt
//	benchstat -col /model cpu.txt
func BenchmarkCPUPerRequest(b *testing.B) {
	for _, depth := range []int{16, 1} {
		for _, m := range []struct {
			name  string
			model string
			knobs []string
		}{
			{"epoll", "epoll", []string{"loops=1"}},
			{"epoll-eagain", "epoll", []string{"loops=1", "read_until=eagain"}},
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

// BenchmarkLoaders compares iolab's load generator with wrk, one thread
// each, on the same epoll core (CPU 0) from CPU 1: requests per second and
// the loader's CPU-µs per request, at 256 connections, depth 16 and 1. An
// iteration is one 3-second window; run one iteration per round, the rounds
// alternating the loaders:
//
//	for i in 1 2 3 4 5; do go test -run '^$' -bench Loaders -benchtime 1x ./models/internal/cpubench/; done | tee loaders.txt
//	benchstat -col /loader loaders.txt
func BenchmarkLoaders(b *testing.B) {
	for _, depth := range []int{16, 1} {
		for _, loader := range []string{"wrk", "iolab"} {
			b.Run(fmt.Sprintf("depth=%d/loader=%s", depth, loader), func(b *testing.B) {
				cpubench.Loader(b, loader, 256, depth)
			})
		}
	}
}
