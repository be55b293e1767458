//go:build linux && !race

package loadgen

import (
	"bytes"
	"math"
	"net/netip"
	"testing"
	"time"
)

// TestEngineAllocs: once warm, a worker's whole per-request path — sending
// a pipelined batch, reading, framing each response, recording its latency
// and status, checking the expected body, sending the next batch — allocates
// nothing. The worker is driven step by step on this goroutine against an
// in-process epoll core, which allocates nothing once warm either, so the
// count is the client's. (The race detector allocates, so this file is
// excluded under -race.)
func TestEngineAllocs(t *testing.T) {
	large := bytes.Repeat([]byte("0123456789abcdef"), 100_000/16)
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"closed depth 16", Config{Pipeline: 16}},
		{"closed depth 1", Config{Pipeline: 1}},
		{"open depth 4", Config{Pipeline: 4, Rate: 10_000}}, // a rate the server keeps up with: no backlog to grow
		// Responses larger than the shared read buffer's half: they
		// accumulate in pooled per-connection buffers.
		{"large responses", Config{Pipeline: 2, Method: "POST", Body: large, ExpectBody: large}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The server's buffers hold a large request whole, so that it
			// allocates nothing either.
			core := startCore(t, "epoll", "loops=1", "read_buffer=1MiB")
			cfg := c.cfg
			path := "/plaintext"
			if cfg.Body != nil {
				path = "/echo"
			}
			cfg.URL = "http://" + core.Addr().String() + path
			cfg.Connections, cfg.Threads = 1, 1
			cfg.ExpectStatus = 200
			if cfg.ExpectBody == nil {
				cfg.ExpectBody = []byte("Hello, World!")
			}
			w := manualWorker(t, cfg)
			batch := func() {
				want := w.ct.received + uint64(cfg.Pipeline)
				for w.ct.received < want {
					if w.stopping {
						t.Fatal("worker stopped")
					}
					w.step()
				}
			}
			for i := 0; i < 100; i++ {
				batch() // warm: pools fill, the framer has seen a response
			}
			// The once-a-second work (publishing a second, merging
			// histograms) is not per request; keep it out of the count.
			w.secEnd, w.nextScan = math.MaxInt64, math.MaxInt64
			if n := testing.AllocsPerRun(200, batch); n != 0 {
				t.Fatalf("%v allocations per batch of %d", n, cfg.Pipeline)
			}
			if e := w.ct.errs; e != [numErrKinds]uint64{} {
				t.Fatalf("errors %v", e)
			}
		})
	}
}

// manualWorker builds a run of one worker, as Run does, connects it, and
// starts the load and the measured window, without a thread of its own: the
// test drives it with step.
func manualWorker(t *testing.T, cfg Config) *worker {
	t.Helper()
	p, err := newPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort(p.target.String())
	r := &run{p: p, dst: newSockaddr(ap), expectStatus: p.cfg.ExpectStatus, expectBody: p.cfg.ExpectBody,
		connected: make(chan struct{}), tl: newTimeline(1)}
	r.workers = make([]*worker, 1)
	w, err := newWorker(r, 0, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	r.workers[0] = w
	w.open = cfg.Rate > 0
	if w.open {
		w.interval = 1e9 / cfg.Rate
	}
	r.connectLeft.Store(1)
	t.Cleanup(func() {
		r.stop.Store(true)
		w.finish()
		closeFD(w.efd)
	})
	w.now = nanotime()
	w.nextScan = w.now + w.scanEvery
	w.pumpConnects()
	for deadline := time.Now().Add(5 * time.Second); w.initial > 0; {
		if time.Now().After(deadline) {
			t.Fatal("no connection")
		}
		w.step()
	}
	t0 := nanotime()
	r.winStart, r.winEnd = t0, math.MaxInt64
	r.t0.Store(t0)
	w.step()
	return w
}
