package epoll

import (
	"context"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/affinity"
	"iolab/models/internal/shutdown"
	"iolab/models/internal/sock"
)

func available() error { return nil }

// Server is a running epoll core.
type Server struct {
	cfg        models.Config
	addr       *net.TCPAddr
	loops      []*loop
	acceptor   *acceptor // nil with accept=reuseport
	meter      *models.Meter
	edge       bool
	untilShort bool // edge-triggered: a short read ends the turn (read_until=short)
	rawWaitMs  int  // epoll_waits up to this long skip the runtime's bookkeeping
	maxEvents  int
	readSize   int
	highWater  int
	perLoop    int          // connections a loop may hold (0: no limit)
	open       atomic.Int64 // connections open in all loops, for max_conns

	end     shutdown.State
	running sync.WaitGroup // one per thread (loops and acceptor)
}

var _ models.Core = (*Server)(nil)

// Start listens on addr and runs the loops until Stop.
func Start(addr string, cfg models.Config) (models.Core, error) {
	k := cfg.Knobs
	s := &Server{
		cfg:        cfg,
		edge:       k.Choice("trigger") == "edge",
		untilShort: k.Choice("read_until") == "short",
		rawWaitMs:  int(k.Duration("raw_wait") / time.Millisecond),
		maxEvents:  k.Int("maxevents"),
		readSize:   k.Int("read_buffer"),
		highWater:  k.Int("write_high_water"),
	}
	s.cfg.ZeroCopy = k.Bool("zerocopy")
	n := k.Int("loops")
	if n == 0 {
		n = affinity.Count()
	}
	s.meter = models.NewMeter(n + 1) // the last shard is the acceptor's
	s.perLoop = k.Int("loop_max_conns")
	var lnfds []int
	var err error
	if !models.RawWaitAllowed(&s.cfg, k.Choice("accept") == "acceptor", n) {
		s.rawWaitMs = 0
	}
	reuseport := k.Choice("accept") == "reuseport"
	if reuseport {
		lnfds, s.addr, err = sock.ListenGroup(addr, n)
	} else {
		var fd int
		fd, s.addr, err = sock.Listen(addr, false)
		lnfds = []int{fd}
	}
	if err != nil {
		return nil, err
	}
	// A graceful stop stops a reuseport group at once; the acceptor closes
	// its one listener itself, before the loops drain.
	var stopListening func()
	if reuseport {
		stopListening = func() { sock.StopListening(lnfds) }
	}
	s.end.Init(stopListening, s.wakeAll)
	fail := func(err error) (models.Core, error) {
		for _, fd := range lnfds {
			unix.Close(fd)
		}
		for _, l := range s.loops {
			l.closeFDs()
		}
		return nil, err
	}
	for i := 0; i < n; i++ {
		lnfd := -1
		if reuseport {
			lnfd = lnfds[i]
		}
		l, err := newLoop(s, i, lnfd)
		if err != nil {
			return fail(err)
		}
		s.loops = append(s.loops, l)
	}
	if !reuseport {
		a, err := newAcceptor(s, lnfds[0], n)
		if err != nil {
			return fail(err)
		}
		s.acceptor = a
	}
	for _, l := range s.loops {
		s.running.Add(1)
		go l.run()
	}
	if s.acceptor != nil {
		s.running.Add(1)
		go s.acceptor.run()
	}
	go func() {
		s.running.Wait()
		s.end.End(func() {
			for _, l := range s.loops {
				l.resumes.Close() // no worker wakes a loop whose eventfd is closed
				l.closeFDs()
			}
			if s.acceptor != nil {
				s.acceptor.closeFDs()
			}
		})
	}()
	return s, nil
}

func (s *Server) Addr() net.Addr        { return s.addr }
func (s *Server) Stats() models.Stats   { return s.meter.Stats() }
func (s *Server) Done() <-chan struct{} { return s.end.Done() }
func (s *Server) Err() error            { return s.end.Err() }

// wakeAll wakes every thread (through s.end.Wake, which says when it may).
func (s *Server) wakeAll() {
	for _, l := range s.loops {
		l.wake()
	}
	if s.acceptor != nil {
		s.acceptor.wake()
	}
}

// Stop implements models.Core: the listeners stop first (a reuseport
// group all at once, sock.StopListening; each loop closes its own
// descriptor on waking, so none is closed under a thread using it), then
// each loop closes its idle connections, lets the others finish the output
// they owe, and exits when it has none left.
func (s *Server) Stop(ctx context.Context) error { return s.end.Stop(ctx) }

// eventfd makes the descriptor that wakes a loop.
func eventfd() (int, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("eventfd", err)
	}
	return fd, nil
}

var one = [8]byte{1}

// signal adds one to an eventfd, waking whoever waits on it.
func signal(efd int) {
	for {
		_, err := unix.Write(efd, one[:])
		if err != unix.EINTR {
			return // EAGAIN: the counter is saturated, the waiter will wake anyway
		}
	}
}

// drainEventfd resets an eventfd's counter.
func drainEventfd(efd int) {
	var b [8]byte
	for {
		_, err := unix.Read(efd, b[:])
		if err != unix.EINTR {
			return
		}
	}
}

// acceptor is the one thread that accepts with accept=acceptor.
type acceptor struct {
	s    *Server
	epfd int
	efd  int
	lnfd int
	// per-loop batches of one accept burst, handed over together
	batch  [][]int
	c      models.Counters
	closed chan struct{} // closed once the listener is
	paused atomic.Bool   // out of descriptors: a loop closing one wakes it
}

func newAcceptor(s *Server, lnfd, loops int) (*acceptor, error) {
	a := &acceptor{s: s, lnfd: lnfd, epfd: -1, efd: -1, batch: make([][]int, loops), closed: make(chan struct{})}
	var err error
	if a.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if a.efd, err = eventfd(); err != nil {
		unix.Close(a.epfd)
		return nil, err
	}
	for _, fd := range []int{lnfd, a.efd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if fd == lnfd {
			ev.Events |= unix.EPOLLET
		}
		if err := unix.EpollCtl(a.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(a.epfd)
			unix.Close(a.efd)
			return nil, os.NewSyscallError("epoll_ctl", err)
		}
	}
	return a, nil
}

func (a *acceptor) wake() { signal(a.efd) }

func (a *acceptor) run() {
	runtime.LockOSThread()
	defer a.s.running.Done()
	shard := len(a.s.loops)
	events := make([]unix.EpollEvent, 2)
	backoff := 0
	for !a.s.end.Stopping.Load() {
		timeout := -1
		if backoff > 0 {
			timeout = backoff
		}
		n, err := unix.EpollWait(a.epfd, events, timeout)
		a.c[models.SysEpollWait]++
		if err != nil && err != unix.EINTR {
			a.s.end.Fail(os.NewSyscallError("epoll_wait", err))
			break
		}
		a.c[models.EpollEvents] += uint64(max(n, 0))
		if a.s.end.Stopping.Load() {
			break
		}
		// Accept after any wake: a listener event, the end of a back-off,
		// or a loop that closed a connection while we were out of
		// descriptors.
		drainEventfd(a.efd)
		if out := a.acceptAll(); out {
			backoff = min(max(2*backoff, 10), 1000)
		} else {
			backoff = 0
		}
		a.paused.Store(backoff > 0)
		a.s.meter.Publish(shard, &a.c)
	}
	unix.Close(a.lnfd)
	close(a.closed)
	a.s.meter.Publish(shard, &a.c)
}

func (a *acceptor) closeFDs() {
	unix.Close(a.epfd)
	unix.Close(a.efd)
}

// acceptAll accepts until EAGAIN, then hands each loop its new descriptors
// with one wake-up. It reports whether it stopped for lack of resources.
func (a *acceptor) acceptAll() (outOfResources bool) {
	for {
		fd, err := accept4(a.lnfd)
		a.c[models.SysAccept]++
		if err != 0 {
			if sock.OutOfResources(err) {
				a.c[models.AcceptErrors]++
				outOfResources = true
			} else if err != unix.EAGAIN {
				a.s.end.Fail(os.NewSyscallError("accept4", err))
			}
			break
		}
		a.c[models.Accepted]++
		i := a.leastLoaded()
		a.batch[i] = append(a.batch[i], fd)
		a.s.loops[i].load.Add(1) // count it now, so the next choice sees it
	}
	for i, fds := range a.batch {
		if len(fds) > 0 {
			a.s.loops[i].hand(fds)
			a.batch[i] = fds[:0]
		}
	}
	return outOfResources
}

func (a *acceptor) leastLoaded() int {
	best, min := 0, int64(1<<62)
	for i, l := range a.s.loops {
		if n := l.load.Load(); n < min {
			best, min = i, n
		}
	}
	return best
}
