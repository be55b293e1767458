package uring

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/affinity"
	"iolab/models/internal/shutdown"
	"iolab/models/internal/sock"
	"iolab/models/uring/ring"
)

var (
	availableOnce sync.Once
	availableErr  error
)

// available asks the kernel once whether this process may use io_uring.
func available() error {
	availableOnce.Do(func() { availableErr = ring.Available() })
	return availableErr
}

// Server is a running io_uring core.
type Server struct {
	cfg      models.Config
	addr     *net.TCPAddr
	reactors []*reactor
	acceptor *acceptor
	meter    *models.Meter
	opts     options
	open     atomic.Int64 // connections open in all reactors, for max_conns

	end     shutdown.State
	running sync.WaitGroup // one per thread (reactors and acceptor)
}

// options are the knobs, read once.
type options struct {
	loops      int
	bufEntries int
	bufSize    int
	cqeBatch   int
	wait       time.Duration
	flags      uint32 // io_uring_setup flags
	sqCPU      int
	sqIdle     uint32
	sendBuffer int
	highWater  int
	rawWait    time.Duration
	perLoop    int
	fixedFiles bool
}

var _ models.Core = (*Server)(nil)

// Start listens on addr and runs the reactors until Stop.
func Start(addr string, cfg models.Config) (models.Core, error) {
	if err := available(); err != nil {
		return nil, err
	}
	k := cfg.Knobs
	o := options{
		loops:      k.Int("loops"),
		bufEntries: k.Int("buf_entries"),
		bufSize:    k.Int("buf_size"),
		cqeBatch:   k.Int("cqe_batch"),
		wait:       time.Duration(k.Int("wait_usec")) * time.Microsecond,
		rawWait:    k.Duration("raw_wait"),
		sqCPU:      k.Int("sq_cpu"),
		sqIdle:     uint32(k.Int("sq_idle_ms")),
		sendBuffer: k.Int("send_buffer"),
		highWater:  k.Int("write_high_water"),
		perLoop:    k.Int("loop_max_conns"),
		fixedFiles: k.Bool("fixed_files"),
	}
	if o.loops == 0 {
		o.loops = affinity.Count()
	}
	if !models.RawWaitAllowed(&cfg, k.Choice("accept") == "acceptor", o.loops) {
		o.rawWait = 0
	}
	switch k.Choice("taskrun") {
	case "coop":
		o.flags |= ring.SetupCoopTaskrun | ring.SetupTaskrunFlag
	case "defer":
		o.flags |= ring.SetupSingleIssuer | ring.SetupDeferTaskrun
	}
	if k.Bool("sqpoll") {
		o.flags |= ring.SetupSQPoll
		if o.sqCPU >= 0 {
			o.flags |= ring.SetupSQAff
		}
	}
	s := &Server{cfg: cfg, opts: o, meter: models.NewMeter(o.loops + 1)}
	s.cfg.ZeroCopy = k.Bool("zerocopy")

	reuseport := k.Choice("accept") == "reuseport"
	var lnfds []int
	var err error
	if reuseport {
		lnfds, s.addr, err = sock.ListenGroup(addr, o.loops)
	} else {
		var fd int
		fd, s.addr, err = sock.Listen(addr, false)
		lnfds = []int{fd}
	}
	if err != nil {
		return nil, err
	}
	// A graceful stop stops a reuseport group at once; the acceptor closes
	// its one listener itself, before the reactors drain.
	var stopListening func()
	if reuseport {
		stopListening = func() { sock.StopListening(lnfds) }
	}
	s.end.Init(stopListening, s.wakeAll)

	// Each ring is made on the thread that will use it (SINGLE_ISSUER
	// checks), so the reactors set up in their own goroutines and report.
	ready := make(chan error, o.loops+1)
	for i := 0; i < o.loops; i++ {
		lnfd := -1
		if reuseport {
			lnfd = lnfds[i]
		}
		r := &reactor{s: s, id: i, lnfd: lnfd}
		s.reactors = append(s.reactors, r)
		s.running.Add(1)
		go r.run(ready)
	}
	var setupErr error
	for range s.reactors {
		if err := <-ready; err != nil && setupErr == nil {
			setupErr = err
		}
	}
	if setupErr == nil && !reuseport {
		s.acceptor = &acceptor{s: s, lnfd: lnfds[0], closed: make(chan struct{})}
		s.running.Add(1)
		go s.acceptor.run(ready)
		setupErr = <-ready
	}
	go s.closeWhenDone()
	if setupErr != nil {
		s.end.Force.Store(true)
		s.end.Begin()
		<-s.end.Done()
		if !reuseport && s.acceptor == nil {
			unix.Close(lnfds[0])
		}
		return nil, setupErr
	}
	return s, nil
}

// closeWhenDone waits for every thread, then closes the eventfds and marks
// the core done.
func (s *Server) closeWhenDone() {
	s.running.Wait()
	s.end.End(func() {
		for _, r := range s.reactors {
			r.resumes.Close() // no worker wakes a reactor whose eventfd is closed
			if r.efd >= 0 {
				unix.Close(r.efd)
			}
		}
		if a := s.acceptor; a != nil && a.efd >= 0 {
			unix.Close(a.efd)
		}
	})
}

func (s *Server) Addr() net.Addr        { return s.addr }
func (s *Server) Stats() models.Stats   { return s.meter.Stats() }
func (s *Server) Done() <-chan struct{} { return s.end.Done() }
func (s *Server) Err() error            { return s.end.Err() }

// wakeAll wakes every thread (through s.end.Wake, which says when it may).
func (s *Server) wakeAll() {
	for _, r := range s.reactors {
		if r.efd >= 0 {
			signal(r.efd)
		}
	}
	if a := s.acceptor; a != nil && a.efd >= 0 {
		signal(a.efd)
	}
}

// Stop implements models.Core, as the package comment of models says: the
// listeners stop first (a reuseport group all at once, sock.StopListening,
// then each reactor cancels its accept and closes its own descriptor; in
// acceptor mode the acceptor closes the one listener before reactors
// drain), then every connection closes once it has sent what it owes.
func (s *Server) Stop(ctx context.Context) error { return s.end.Stop(ctx) }

var one = [8]byte{1}

// signal adds one to an eventfd.
func signal(efd int) {
	for {
		if _, err := unix.Write(efd, one[:]); err != unix.EINTR {
			return
		}
	}
}
