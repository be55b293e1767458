package experiments

import (
	"iolab/models"
	"iolab/results"
)

// Charts names the charts a complete run of the experiment draws, every
// cell measured, before it runs: the file names (without .png or .svg)
// that results.Charts gives a run of this matrix. A lesson links to these,
// and `iolab run --dry-run` lists them.
//
// The cells it lays out are placeholders with every measure the rows can
// have: each row's latency, requests and server CPU; syscalls per request
// for core rows (an external server's are not counted); CQEs per
// io_uring_enter for rows of a model that uses io_uring. A real run draws
// fewer when rows fail or are skipped, or when a measure comes out zero (a
// SQPOLL reactor that never had to enter the kernel in the window has no
// CQEs per enter).
func (s *Spec) Charts() ([]string, error) {
	r := &Runner{Spec: s}
	var cells []results.Cell
	for _, p := range s.Expand() {
		if p.Repeat != 1 {
			continue // repeats share their charts
		}
		c := r.base(p)
		c.Status, c.Seconds, c.Requests, c.RPS, c.ServerCPUUsPerReq = results.StatusOK, 1, 1, 1, 1
		c.Latency = results.Latency{P50: 1, P75: 1, P90: 1, P99: 1, P999: 1, P9999: 1, Max: 1, Mean: 1}
		if p.Row.Model != "" {
			c.SyscallsPerReq = 1
			if m, err := models.Lookup(p.Row.Model); err == nil && m.IOUring {
				c.CQEsPerEnter = 1
			}
		}
		cells = append(cells, c)
	}
	charts, err := results.Charts(cells)
	names := make([]string, len(charts))
	for i, c := range charts {
		names[i] = c.Name
	}
	return names, err
}
