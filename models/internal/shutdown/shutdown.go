// Package shutdown is how the cores that run threads of their own (epoll
// and uring) stop and end: gracefully, when a Stop begins it (the
// listeners stop taking connections, every thread drains and exits), or at
// once (Force), when a Stop's deadline passes or a thread fails.
//
// It also orders the threads' wake-ups against their end. A thread is
// woken by a write to its eventfd, and an eventfd may only close once
// every thread has exited: closed while a wake-up could still come, its
// number could be handed to a new socket, and the wake-up would write
// eight bytes into someone's connection. So the wake-ups and the closing
// take the same lock, and once the descriptors are closed there are no
// more wake-ups.
package shutdown

import (
	"context"
	"sync"
	"sync/atomic"
)

// State is a core's stopping state. The threads poll Stopping and Force
// once per pass of their loop; everything else is called from Stop, from a
// failing thread, or from the goroutine that waits for the threads.
type State struct {
	Stopping atomic.Bool // a stop has begun: drain, then exit
	Force    atomic.Bool // close every connection and exit now

	stopListening func()
	wake          func()
	once          sync.Once

	mu     sync.Mutex // held by every wake-up, and by End while it closes the descriptors
	closed bool
	done   chan struct{}

	errMu sync.Mutex
	err   error
}

// Init sets what a stop does before the threads see it: stopListening
// stops the listeners the threads share (nil: none; a reuseport group
// must stop all at once, or a client whose connection one thread has
// drained reconnects to a thread that has not yet woken), and wake wakes
// every thread. Call it before any thread starts.
func (s *State) Init(stopListening, wake func()) {
	s.stopListening, s.wake = stopListening, wake
	s.done = make(chan struct{})
}

// Begin starts a graceful stop, once: it stops the listeners, sets
// Stopping and wakes the threads to see it.
func (s *State) Begin() {
	s.once.Do(func() {
		// A failure stops by force, and its listeners may be closed
		// already; otherwise they are all open, since the threads close
		// theirs only once Stopping is set.
		if !s.Force.Load() && s.stopListening != nil {
			s.stopListening()
		}
		s.Stopping.Store(true)
		s.Wake()
	})
}

// Fail records a thread's fatal error (the first one is the core's) and
// stops the others at once.
func (s *State) Fail(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
	s.Force.Store(true)
	s.Begin()
	s.Wake() // Begin wakes only the first time
}

// Wake wakes every thread, unless they have all ended.
func (s *State) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.wake()
	}
}

// Stop begins a graceful stop and waits for the end. If ctx ends first, it
// forces the threads to end, waits for that, and returns ctx's error.
func (s *State) Stop(ctx context.Context) error {
	s.Begin()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.Force.Store(true)
		s.Wake()
		<-s.done
		return ctx.Err()
	}
}

// End is called once, after every thread has exited: it runs closeFDs
// (which closes the threads' eventfds) where no wake-up can run, then
// marks the core done.
func (s *State) End(closeFDs func()) {
	s.mu.Lock()
	closeFDs()
	s.closed = true
	s.mu.Unlock()
	close(s.done)
}

// Done is closed once the core has ended.
func (s *State) Done() <-chan struct{} { return s.done }

// Err is the error the core ended on: nil while it runs, and after a stop
// that no thread's failure caused.
func (s *State) Err() error {
	select {
	case <-s.done:
		s.errMu.Lock()
		defer s.errMu.Unlock()
		return s.err
	default:
		return nil
	}
}
