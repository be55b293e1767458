package loadgen

import (
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// timeline gathers the workers' per-second counts and latencies. A worker
// records each second into its own histogram and publishes it when the
// second is over (once a second, so the lock is never contended on the hot
// path). A second is settled, its p99 computed and its histogram recycled,
// as soon as every worker has moved past it: memory stays a few seconds'
// worth however long the run.
type timeline struct {
	mu      sync.Mutex
	marks   []int // per worker: it publishes nothing more below this second
	pending map[int]*secAgg
	done    []Second
	next    int // the first second not settled
	free    []*secAgg
}

type secAgg struct {
	requests, errors uint64
	hist             *hdrhistogram.Histogram
}

// The timeline's histograms keep 2 significant digits: a per-second p99 is
// a trend, and merging into the coarser histogram is cheaper.
func newSecondHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMinUs, histMaxUs, 2) }

func newTimeline(workers int) *timeline {
	return &timeline{marks: make([]int, workers), pending: map[int]*secAgg{}}
}

// publish adds worker w's counts and latencies (h may be nil) for second s,
// and records that w has moved past s.
func (t *timeline) publish(w, s int, requests, errors uint64, h *hdrhistogram.Histogram) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if requests != 0 || errors != 0 || h != nil && h.TotalCount() > 0 {
		a := t.pending[s]
		if a == nil {
			if n := len(t.free); n > 0 {
				a, t.free = t.free[n-1], t.free[:n-1]
			} else {
				a = &secAgg{hist: newSecondHist()}
			}
			t.pending[s] = a
		}
		a.requests += requests
		a.errors += errors
		if h != nil {
			a.hist.Merge(h)
		}
	}
	t.marks[w] = max(t.marks[w], s+1)
	t.settle()
}

// pass records that worker w will publish nothing more below second s.
func (t *timeline) pass(w, s int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.marks[w] = max(t.marks[w], s)
	t.settle()
}

func (t *timeline) settle() {
	low := t.marks[0]
	for _, m := range t.marks[1:] {
		low = min(low, m)
	}
	for ; t.next < low; t.next++ {
		sec := Second{Second: t.next}
		if a := t.pending[t.next]; a != nil {
			sec.Requests, sec.Errors = a.requests, a.errors
			if a.hist.TotalCount() > 0 {
				sec.P99 = float64(a.hist.ValueAtQuantile(99))
			}
			a.hist.Reset()
			a.requests, a.errors = 0, 0
			t.free = append(t.free, a)
			delete(t.pending, t.next)
		}
		t.done = append(t.done, sec)
	}
}

// finish settles every second below n (the window's seconds, rounded up)
// and returns the timeline.
func (t *timeline) finish(n int) []Second {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.marks {
		t.marks[i] = max(t.marks[i], n)
	}
	t.settle()
	out := t.done
	for len(out) > 0 && out[len(out)-1].Second >= n {
		out = out[:len(out)-1]
	}
	return out
}
