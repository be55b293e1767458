package experiments

import (
	"slices"
	"strings"
	"testing"
)

// TestSpecCharts: the charts predicted for a matrix are the ones its rows
// can have: CQEs only where a row uses io_uring, syscalls only where a row
// is a core, a line by connections only when connections are swept, heat
// maps for a pair of swept knobs, one name part per sweep value.
func TestSpecCharts(t *testing.T) {
	cases := []struct {
		name      string
		src       string
		want, not []string
		count     int
	}{
		{"epoll only", `name: e
workload: {path: /plaintext}
models:
  - model: epoll
    knobs: {trigger: edge}
  - model: epoll
    knobs: {trigger: level}
sweep:
  connections: [16, 64]
  maxevents: [1, 8]
`, []string{"rank-plaintext-c16-p1-maxevents=1", "rps-by-conns-plaintext-p1-maxevents=8", "cpu-plaintext-c64-p1-maxevents=8",
			"latency-plaintext-c16-p1-maxevents=8", "syscalls-plaintext-c64-p1-maxevents=1"}, []string{"cqes-"}, 0},
		{"uring knobs", `name: u
workload: {test: pt, path: /plaintext}
models:
  - model: uring
sweep:
  cqe_batch: [1, 4]
  buf_entries: [16, 64]
  pipeline: [16]
`, []string{"cqes-pt-c256-p16-buf_entries=16-cqe_batch=4", "heat-cpu-pt-c256-p16-uring-buf_entries-x-cqe_batch",
			"heat-rps-pt-c256-p16-uring-buf_entries-x-cqe_batch"}, []string{"rps-by-conns"}, 4*5 + 2},
		{"external only", `name: x
workload: {path: /plaintext}
models:
  - external: nginx
    command: nginx -p {port}
    ready: http://127.0.0.1:{port}/
sweep:
  connections: [16]
`, []string{"rank-plaintext-c16-p1", "cpu-plaintext-c16-p1", "latency-plaintext-c16-p1"}, []string{"syscalls-", "cqes-"}, 3},
		{"several workloads", `name: w
workloads:
  - {test: plaintext, path: /plaintext}
  - {test: json, path: /json}
models:
  - model: uring
sweep:
  pipeline: [1, 16]
`, []string{"rank-json-c256-p16", "cqes-plaintext-c256-p1"}, []string{"test="}, 2 * 2 * 5},
	}
	for _, tc := range cases {
		s, err := Parse(tc.name+".yaml", []byte(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		names, err := s.Charts()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !slices.Contains(names, w) {
				t.Errorf("%s: no chart %s among %v", tc.name, w, names)
			}
		}
		for _, n := range names {
			for _, bad := range tc.not {
				if strings.Contains(n, bad) {
					t.Errorf("%s: chart %s cannot be drawn from this matrix", tc.name, n)
				}
			}
		}
		if tc.count > 0 && len(names) != tc.count {
			t.Errorf("%s: %d charts, want %d: %v", tc.name, len(names), tc.count, names)
		}
		var plan strings.Builder
		if err := s.WritePlan(&plan, s.Expand()); err != nil || !strings.Contains(plan.String(), "\n    "+tc.want[0]+"\n") {
			t.Errorf("%s: the dry run does not list the charts (%v):\n%s", tc.name, err, plan.String())
		}
	}
}
