package epoll

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/sock"
)

const (
	// readBudget bounds the reads one connection gets per turn, so a client
	// that never stops sending cannot starve the loop's other connections:
	// past it the connection waits in the ready queue for the next turn.
	readBudget = 16
	// acceptBudget does the same for a listener under a connection storm.
	acceptBudget = 64
	// lingerTime bounds how long a closing connection reads and discards
	// after its last response (see startLinger).
	lingerTime = int64(time.Second)
	// pooledBuffers is how many free buffers a loop keeps; beyond it they go
	// to the garbage collector, so a burst does not pin memory forever.
	pooledBuffers = 512
)

// loop is one event loop: an epoll instance, the connections registered in
// it, and everything they use. Only its own thread touches it, except the
// inbox (the acceptor's hand-over) and load.
type loop struct {
	s       *Server
	id      int
	epfd    int
	efd     int // eventfd: stop, and new connections in the inbox
	lnfd    int // own SO_REUSEPORT listener, or -1
	edge    bool
	events  []unix.EpollEvent
	conns   []*conn // by descriptor
	free    []*conn // connection state to reuse
	bufs    [][]byte
	grown   models.Grown // buffers connections outgrew, for their next turn
	scratch []byte       // where lingering input is read and dropped
	timers  deadline.Heap[ref]
	ready   []ref // connections with input left over from their last turn
	spare   []ref
	c       models.Counters
	now     int64
	gen     uint32
	open    int
	load    atomic.Int64 // connections owned or on their way, for the acceptor

	lnReady     bool  // the listener may hold more connections
	acceptPause int64 // out of descriptors: retry accepting at this time
	backoff     int64
	draining    bool

	inboxMu sync.Mutex
	inbox   []int
	taken   []int
	resumes models.Inbox // handler=offload: connections with work from a worker (offload_linux.go)
}

// ref names a connection at one generation: descriptors and conn structs are
// reused, so a stale reference must be recognisable.
type ref struct {
	c   *conn
	gen uint32
}

func (r ref) live() bool { return r.c.gen == r.gen && r.c.fd >= 0 }

func newLoop(s *Server, id, lnfd int) (*loop, error) {
	l := &loop{s: s, id: id, lnfd: lnfd, edge: s.edge, epfd: -1, efd: -1,
		events: make([]unix.EpollEvent, s.maxEvents), scratch: make([]byte, 64<<10)}
	var err error
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if l.efd, err = eventfd(); err != nil {
		l.closeFDs()
		return nil, err
	}
	l.resumes.Init(l.wake)
	if err := l.ctl(unix.EPOLL_CTL_ADD, l.efd, unix.EPOLLIN, 0); err != nil {
		l.closeFDs()
		return nil, err
	}
	if lnfd >= 0 {
		// Edge-triggered: accept until EAGAIN, and no busy loop while
		// accepting is paused for want of descriptors.
		if err := l.ctl(unix.EPOLL_CTL_ADD, lnfd, unix.EPOLLIN|unix.EPOLLET, 0); err != nil {
			l.closeFDs()
			return nil, err
		}
	}
	return l, nil
}

func (l *loop) ctl(op, fd int, events uint32, gen uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(gen)}
	l.c[models.SysEpollCtl]++
	if e := epollCtl(l.epfd, op, fd, &ev); e != 0 {
		return os.NewSyscallError("epoll_ctl", e)
	}
	return nil
}

func (l *loop) closeFDs() {
	for _, fd := range []*int{&l.lnfd, &l.efd, &l.epfd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

func (l *loop) wake() { signal(l.efd) }

// hand gives the loop new connections (from the acceptor thread).
func (l *loop) hand(fds []int) {
	l.inboxMu.Lock()
	l.inbox = append(l.inbox, fds...)
	l.inboxMu.Unlock()
	l.wake()
}

func (l *loop) run() {
	runtime.LockOSThread()
	defer l.s.running.Done()
	l.now = deadline.Now()
	for {
		n, err := wait(l.epfd, l.events, l.waitTimeout(), l.s.rawWaitMs, &l.c)
		l.now = deadline.Now()
		if err != 0 {
			if err != unix.EINTR {
				l.s.end.Fail(os.NewSyscallError("epoll_wait", err))
				l.closeAll()
				break
			}
			n = 0
		}
		l.c[models.EpollEvents] += uint64(n)
		for i := 0; i < n; i++ {
			l.dispatch(&l.events[i])
		}
		if l.lnReady {
			l.acceptAll()
		}
		l.runReady()
		l.expire()
		if l.s.end.Stopping.Load() && !l.draining {
			l.drain()
		}
		if l.s.end.Force.Load() {
			l.closeAll()
		}
		l.s.meter.Publish(l.id, &l.c)
		if l.draining && l.open == 0 {
			break
		}
	}
	if l.lnfd >= 0 { // a fatal error: drain did not close it
		unix.Close(l.lnfd)
		l.lnfd = -1
	}
	l.s.meter.Publish(l.id, &l.c)
}

// waitTimeout is how long epoll_wait may block: not at all with work
// queued, else until the next deadline (rounded up to a millisecond, so the
// loop does not wake just before it), else forever.
func (l *loop) waitTimeout() int {
	if len(l.ready) > 0 || l.lnReady {
		return 0
	}
	next, ok := l.timers.Next()
	if l.acceptPause != 0 && (!ok || l.acceptPause < next) {
		next, ok = l.acceptPause, true
	}
	if !ok {
		return -1
	}
	if d := next - l.now; d > 0 {
		return int((d + int64(time.Millisecond) - 1) / int64(time.Millisecond))
	}
	return 0
}

func (l *loop) dispatch(ev *unix.EpollEvent) {
	fd := int(ev.Fd)
	switch {
	case fd == l.efd:
		drainEventfd(l.efd)
		l.takeInbox()
		l.takeResumes()
	case fd == l.lnfd:
		l.lnReady = true
	case fd < len(l.conns):
		if c := l.conns[fd]; c != nil && c.gen == uint32(ev.Pad) {
			l.onEvent(c, ev.Events)
		}
	}
}

// --- accepting ---------------------------------------------------------------

func (l *loop) acceptAll() {
	if l.draining || l.acceptPause != 0 {
		l.lnReady = false
		return
	}
	for i := 0; i < acceptBudget; i++ {
		fd, err := accept4(l.lnfd)
		l.c[models.SysAccept]++
		if err != 0 {
			l.lnReady = false
			if sock.OutOfResources(err) {
				// Back off instead of spinning: the listener stays
				// readable while the accept queue is not empty. A
				// connection closing here retries at once.
				l.c[models.AcceptErrors]++
				l.backoff = min(max(2*l.backoff, int64(10*time.Millisecond)), int64(time.Second))
				l.acceptPause = l.now + l.backoff
			}
			return
		}
		l.backoff = 0
		l.c[models.Accepted]++
		l.load.Add(1)
		l.add(fd)
	}
}

func (l *loop) takeInbox() {
	l.inboxMu.Lock()
	l.inbox, l.taken = l.taken[:0], l.inbox
	l.inboxMu.Unlock()
	for _, fd := range l.taken {
		l.add(fd)
	}
}

// add registers an accepted connection (already counted in load).
func (l *loop) add(fd int) {
	// The server-wide count is reserved before it is checked, so loops
	// accepting at once cannot overshoot max_conns together.
	total := l.s.open.Add(1)
	full := l.s.perLoop > 0 && l.open >= l.s.perLoop ||
		l.s.cfg.MaxConns > 0 && total > int64(l.s.cfg.MaxConns)
	if l.draining || full {
		l.s.open.Add(-1)
		if !l.draining {
			l.c[models.Rejected]++
		}
		unix.Close(fd)
		l.c[models.SysClose]++
		l.c[models.Closed]++
		l.load.Add(-1)
		return
	}
	sock.SetNoDelay(fd)
	c := l.newConn(fd)
	// Edge-triggered connections register for output too, once: an edge
	// only fires on a change, so EPOLLOUT costs nothing until a write has
	// hit EAGAIN, and no epoll_ctl is ever needed to arm it.
	mask := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	if l.edge {
		mask |= unix.EPOLLOUT | unix.EPOLLET
	}
	c.mask = mask
	if err := l.ctl(unix.EPOLL_CTL_ADD, fd, mask, c.gen); err != nil {
		l.close(c)
		return
	}
	c.lastActive = l.now
	l.setDue(c, l.now+int64(l.s.cfg.IdleTimeout))
}

// --- timers ------------------------------------------------------------------

// dueAt returns when the connection's deadline falls, by its state now: its
// linger's end, its head's header_timeout, or idle_timeout after its last
// progress.
func (l *loop) dueAt(c *conn) int64 {
	switch {
	case c.lingering:
		return c.due
	case c.headTimed():
		return c.headStart + int64(l.s.cfg.HeaderTimeout)
	}
	return c.lastActive + int64(l.s.cfg.IdleTimeout)
}

// setDue sets the connection's deadline. The heap holds at most one live
// entry per connection (due at timerAt); a later deadline only updates
// c.due, and the entry is pushed again when it surfaces (see expire).
func (l *loop) setDue(c *conn, due int64) {
	c.due = due
	if !c.timerSet || due < c.timerAt {
		c.timerSet, c.timerAt = true, due
		l.timers.Push(due, ref{c, c.gen})
	}
}

func (l *loop) expire() {
	if l.acceptPause != 0 && l.now >= l.acceptPause {
		l.acceptPause, l.lnReady = 0, true
	}
	for {
		due, ok := l.timers.Next()
		if !ok || due > l.now {
			return
		}
		_, r := l.timers.Pop()
		c := r.c
		if !r.live() || !c.timerSet || c.timerAt != due {
			continue // closed, reused, or superseded by an earlier entry
		}
		c.timerSet = false
		if due := l.dueAt(c); due > l.now {
			l.setDue(c, due) // moved on since: re-arm
			continue
		}
		if c.sess.Working() {
			l.setDue(c, l.now+int64(l.s.cfg.IdleTimeout)) // a handler owes the response: not idle
			continue
		}
		switch {
		case c.lingering:
		case c.headTimed():
			l.c[models.HeaderTimeouts]++
		default:
			l.c[models.IdleTimeouts]++
		}
		l.close(c)
	}
}

// --- the ready queue ---------------------------------------------------------

func (l *loop) queue(c *conn) {
	if !c.queued {
		c.queued = true
		l.ready = append(l.ready, ref{c, c.gen})
	}
}

func (l *loop) runReady() {
	if len(l.ready) == 0 {
		return
	}
	batch := l.ready
	l.ready, l.spare = l.spare[:0], batch
	for _, r := range batch {
		if !r.live() {
			continue
		}
		c := r.c
		c.queued = false
		if c.lingering {
			l.linger(c)
		} else {
			l.onEvent(c, 0)
		}
	}
	clear(batch) // drop the references
}

// --- stopping ----------------------------------------------------------------

// drain starts a graceful stop: the listener closes first, then every
// connection closes once it has written what it owes.
func (l *loop) drain() {
	l.draining = true
	if l.lnfd >= 0 {
		unix.Close(l.lnfd)
		l.lnfd = -1
	}
	if a := l.s.acceptor; a != nil {
		<-a.closed // the shared listener is closed before connections are
	}
	l.takeInbox() // closes what was handed over meanwhile
	for _, c := range l.conns {
		if c == nil || c.lingering {
			continue
		}
		c.sess.Drain()
		if c.sess.InFlight() {
			continue // its handler is running; the response will close
		}
		if c.outOff < len(c.out) || c.file.Size > 0 {
			c.closing = true // after its output
			continue
		}
		l.startLinger(c)
	}
}

// closeAll closes every connection at once (Stop's deadline passed, or a
// fatal error).
func (l *loop) closeAll() {
	l.draining = true
	for _, c := range l.conns {
		if c != nil {
			l.close(c)
		}
	}
}

// --- buffers -----------------------------------------------------------------

// getBuf returns an empty buffer: one of read_buffer, or, when the
// connection's last one grew to grew, one as large if the loop kept it.
func (l *loop) getBuf(grew int) []byte {
	if grew > 0 {
		if b := l.grown.Get(grew); b != nil {
			return b
		}
	}
	if n := len(l.bufs); n > 0 {
		b := l.bufs[n-1]
		l.bufs = l.bufs[:n-1]
		return b
	}
	return make([]byte, 0, l.s.readSize)
}

// putBuf takes back a buffer no longer in use and returns the capacity it
// had grown to, if it grew.
func (l *loop) putBuf(b []byte) (grew int) {
	if cap(b) == l.s.readSize {
		if len(l.bufs) < pooledBuffers {
			l.bufs = append(l.bufs, b[:0])
		}
		return 0
	}
	l.grown.Put(b)
	return cap(b)
}
