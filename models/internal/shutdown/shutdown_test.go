package shutdown

import (
	"context"
	"errors"
	"testing"
	"time"
)

// threads stands in for a core's threads: each wake-up is counted, and
// run starts goroutines that exit when they see Stopping (or, if
// forceOnly, only Force), then End the state.
type threads struct {
	s        State
	wakes    chan struct{}
	stopped  int // stopListening calls
	fdsShut  bool
	wakeLate bool // a wake-up came after the descriptors closed
}

func newThreads() *threads {
	th := &threads{wakes: make(chan struct{}, 100)}
	th.s.Init(func() { th.stopped++ }, func() {
		if th.fdsShut {
			th.wakeLate = true
		}
		th.wakes <- struct{}{}
	})
	return th
}

func (th *threads) run(n int, forceOnly bool) {
	exited := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		go func() {
			for {
				if th.s.Force.Load() || !forceOnly && th.s.Stopping.Load() {
					exited <- struct{}{}
					return
				}
				time.Sleep(100 * time.Microsecond)
			}
		}()
	}
	go func() {
		for i := 0; i < n; i++ {
			<-exited
		}
		th.s.End(func() { th.fdsShut = true })
	}()
}

func TestGracefulStop(t *testing.T) {
	th := newThreads()
	th.run(3, false)
	if err := th.s.Err(); err != nil {
		t.Fatalf("Err while running: %v", err)
	}
	if err := th.s.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-th.s.Done():
	default:
		t.Fatal("Done not closed after Stop returned")
	}
	if th.stopped != 1 || len(th.wakes) != 1 {
		t.Fatalf("listeners stopped %d times, %d wake-ups; want 1 and 1", th.stopped, len(th.wakes))
	}
	if th.s.Force.Load() || th.s.Err() != nil {
		t.Fatalf("graceful stop: force %v, err %v", th.s.Force.Load(), th.s.Err())
	}
	th.s.Begin() // a second stop does nothing
	th.s.Wake()  // nor does a wake-up after the end
	if th.stopped != 1 || len(th.wakes) != 1 || th.wakeLate {
		t.Fatalf("after the end: listeners stopped %d times, %d wake-ups, late %v", th.stopped, len(th.wakes), th.wakeLate)
	}
}

func TestStopDeadlineForces(t *testing.T) {
	th := newThreads()
	th.run(2, true) // threads that drain for ever, until forced
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := th.s.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop: %v, want the deadline's error", err)
	}
	if !th.s.Force.Load() || !th.fdsShut {
		t.Fatalf("force %v, descriptors closed %v", th.s.Force.Load(), th.fdsShut)
	}
	if len(th.wakes) != 2 { // Begin's, then the force's
		t.Fatalf("%d wake-ups, want 2", len(th.wakes))
	}
}

func TestFailKeepsTheFirstError(t *testing.T) {
	th := newThreads()
	th.run(2, true)
	first, second := errors.New("first"), errors.New("second")
	th.s.Fail(first)
	th.s.Fail(second)
	<-th.s.Done()
	if err := th.s.Err(); err != first {
		t.Fatalf("Err = %v, want %v", err, first)
	}
	if th.stopped != 0 {
		t.Fatal("a failure stopped the listeners; a forced stop leaves them to their threads")
	}
	if !th.s.Stopping.Load() || !th.s.Force.Load() {
		t.Fatalf("stopping %v, force %v", th.s.Stopping.Load(), th.s.Force.Load())
	}
	if err := th.s.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after the end: %v", err)
	}
}
