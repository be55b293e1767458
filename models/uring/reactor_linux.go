package uring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/deadline"
	"iolab/models/internal/sock"
	"iolab/models/uring/ring"
)

// What a completion is about, in the top byte of its user data; the rest
// holds the connection's generation (24 bits) and descriptor (32 bits), as
// liburing's examples/proxy.h packs them. Descriptors and connection state
// are reused, so the generation tells a stale completion from a current one.
const (
	opAccept  = iota + 1 // a multishot accept
	opRecv               // a connection's multishot recv
	opSend               // a connection's send
	opWake               // the eventfd read that wakes the reactor
	opHandoff            // a connection from the acceptor (res: its descriptor)
	opCancel             // a cancel's own completion
	opMsg                // the acceptor's msg_ring (data: the descriptor it handed over)
	opSplice             // zerocopy=on: a file segment's splice, file to pipe or pipe to socket
	opFiles              // a registered file table update (a CQE only if it failed)
)

func pack(op uint8, gen uint32, fd int) uint64 {
	return uint64(op)<<56 | uint64(gen&0xffffff)<<32 | uint64(uint32(fd))
}

func unpack(v uint64) (op uint8, gen uint32, fd int) {
	return uint8(v >> 56), uint32(v>>32) & 0xffffff, int(int32(uint32(v)))
}

const (
	sqEntries = 4096
	cqEntries = 16384
	// lingerTime bounds how long a closing connection reads and drops what
	// the client still sends (see startLinger).
	lingerTime = int64(time.Second)
	// pooledOut is how many free output buffers a reactor keeps mapped.
	pooledOut = 256
	// wakeAfter bounds a reactor's wait when it has nothing else to wait
	// for, so a lost wake-up could not hang it.
	wakeAfter = time.Second
)

// reactor is one ring and everything it serves. Only its own thread touches
// it, except load (read by the acceptor).
type reactor struct {
	s    *Server
	id   int
	ring *ring.Ring
	br   *ring.BufRing
	bufs []byte // the provided buffers, buf_entries × buf_size, mmap'd
	// Buffers given back since the last Advance: published once per pass.
	recycled int

	lnfd        int
	accepting   bool  // a multishot accept is armed
	acceptPause int64 // out of descriptors: arm again at this time
	backoff     int64

	// fixed_files=on: slots[fd] is what the last update of slot fd put
	// there (fd, or -1 for empty), read by the kernel when it issues the
	// update; mmap'd, a cell per slot of the ring's file table.
	slots []int32

	efd     int
	wakeBuf []byte // 8 bytes the eventfd read lands in (mmap'd)
	waking  bool   // the eventfd read is armed

	conns   []*conn
	free    []*conn
	dirty   []ref // connections with output to send after this pass
	starved []ref // connections whose receive ended and must be armed again
	cqes    []*ring.CQE
	c       models.Counters
	timers  deadline.Heap[ref]
	now     int64
	gen     uint32
	open    int
	load    atomic.Int64

	outFree  [][]byte     // free output buffers
	grown    models.Grown // heap buffers connections outgrew, for their next turn
	pipes    [][2]int     // zerocopy=on: empty pipes for splicing files (offload_linux.go)
	resumes  models.Inbox
	draining bool
	reaped   int // CQEs the last pass handled: what the next wait bets on

	enters, submitted, wakeups, runtimeWaits uint64 // the ring's counters at the last publish
}

type ref struct {
	c   *conn
	gen uint32
}

func (r ref) live() bool { return r.c.gen == r.gen && r.c.fd >= 0 }

// setup makes the reactor's ring, buffer ring and eventfd, on its own thread.
func (r *reactor) setup() error {
	o := r.s.opts
	p := ring.Params{Flags: o.flags | ring.SetupCQSize, CQEntries: cqEntries, SQThreadIdle: o.sqIdle}
	if o.sqCPU >= 0 {
		p.SQThreadCPU = uint32(o.sqCPU)
	}
	var err error
	if r.ring, err = ring.Setup(sqEntries, &p); err != nil {
		return fmt.Errorf("reactor %d: %w (setup flags %s)", r.id, err, ring.FlagNames(p.Flags))
	}
	r.ring.RawWait = o.rawWait
	// Only this thread enters the ring: register its descriptor, so that
	// io_uring_enter need not look it up each time. The kernels this core
	// runs on all can (5.18 on); were one to refuse, the descriptor works.
	r.ring.RegisterRingFd()
	if o.fixedFiles {
		n := fileSlots()
		if err := r.ring.RegisterFilesSparse(n); err != nil {
			return fmt.Errorf("reactor %d: registered file table: %w (run with --knob fixed_files=off)", r.id, err)
		}
		m, err := ring.Mmap(int(n) * 4)
		if err != nil {
			return err
		}
		r.slots = unsafe.Slice((*int32)(unsafe.Pointer(&m[0])), n)
	}
	if r.br, err = r.ring.SetupBufRing(o.bufEntries, 0, 0); err != nil {
		if errors.Is(err, unix.ENOMEM) {
			err = fmt.Errorf("%w: locked memory (RLIMIT_MEMLOCK) exhausted; raise it (ulimit -l) or use fewer loops or a smaller buf_entries", err)
		}
		return fmt.Errorf("reactor %d: buffer ring: %w", r.id, err)
	}
	if r.bufs, err = ring.Mmap(o.bufEntries * o.bufSize); err != nil {
		return err
	}
	for i := 0; i < o.bufEntries; i++ {
		r.br.Add(unsafe.Pointer(&r.bufs[i*o.bufSize]), uint32(o.bufSize), uint16(i), i)
	}
	r.br.Advance(o.bufEntries)
	if r.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC); err != nil {
		r.efd = -1
		return os.NewSyscallError("eventfd", err)
	}
	if r.wakeBuf, err = ring.Mmap(8); err != nil {
		return err
	}
	efd := r.efd
	r.resumes.Init(func() { signal(efd) }) // the armed eventfd read wakes the reactor
	r.cqes = make([]*ring.CQE, o.cqeBatch)
	return nil
}

// teardown releases what setup made. Mappings are only unmapped when no
// operation that could still write into them is in flight.
func (r *reactor) teardown(quiet bool) {
	r.closePipes()
	if r.ring != nil {
		if r.br != nil {
			r.ring.FreeBufRing(r.br)
		}
		r.ring.Close()
	}
	if !quiet {
		return // better to leak the mappings than have the kernel write into reused memory
	}
	for _, b := range r.outFree {
		ring.Munmap(b[:cap(b)])
	}
	r.outFree = nil
	if r.slots != nil {
		ring.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&r.slots[0])), 4*len(r.slots)))
		r.slots = nil
	}
	for _, m := range [][]byte{r.bufs, r.wakeBuf} {
		if m != nil {
			ring.Munmap(m)
		}
	}
}

func (r *reactor) run(ready chan<- error) {
	runtime.LockOSThread()
	defer r.s.running.Done()
	if err := r.setup(); err != nil {
		ready <- err
		r.teardown(true)
		return
	}
	ready <- nil
	r.now = deadline.Now()
	r.armWake()
	if r.lnfd >= 0 {
		r.armAccept()
	}
	for {
		enters := r.ring.Enters
		if err := r.wait(); err != nil {
			r.s.end.Fail(fmt.Errorf("reactor %d: %w", r.id, err))
			r.closeAll()
			break
		}
		r.now = deadline.Now()
		n := r.ring.PeekBatchCQE(r.cqes)
		for _, cqe := range r.cqes[:n] {
			r.handle(cqe)
		}
		r.ring.CQAdvance(uint32(n))
		r.c[models.CQEs] += uint64(n)
		if r.ring.Enters != enters { // CQEs reaped per io_uring_enter
			r.c.CountCQEs(n)
		}
		r.reaped = n
		r.endPass()
		r.expire()
		if r.s.end.Stopping.Load() && !r.draining {
			r.drain()
		}
		if r.s.end.Force.Load() {
			r.closeAll()
		}
		r.publish()
		// load counts connections handed over but not yet received too.
		if r.draining && r.load.Load() == 0 && !r.accepting {
			break
		}
	}
	r.teardown(r.quiesce())
	r.publish()
}

// wait submits what this pass queued and gets completions. It looks first
// without sleeping (an enter that only submits, and with DEFER_TASKRUN runs
// the pending completion work): under load completions are almost always
// there, and a reactor that sleeps in the kernel on every pass pays for a
// context switch, and for the Go runtime's handing its P to another thread
// (a blocking syscall), each time. Only when nothing has arrived does it wait
// as waitFor says.
//
// A wait longer than raw_wait spends raw_wait without the runtime's syscall
// bookkeeping first (ring.RawWait says why).
func (r *reactor) wait() error {
	ok := func(err error) bool {
		return err == nil || errors.Is(err, unix.ETIME) || errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EINTR)
	}
	if _, err := r.ring.SubmitAndWaitTimeout(0, -1); !ok(err) {
		return err
	}
	want, timeout := r.waitFor()
	if want == 0 {
		return nil
	}
	if _, err := r.ring.SubmitAndWaitTimeout(want, timeout); !ok(err) {
		return err
	}
	return nil
}

// waitFor says what the next io_uring_enter waits for: nothing when
// completions are already waiting; after a pass that found some, half as
// many as it handled (at least one), for at most wait_usec; after a pass
// that found nothing, one, until the next deadline (so an idle reactor
// sleeps instead of waking every wait_usec).
//
// Waiting for a batch is a bet that more work is coming, and a fixed batch
// loses it whenever fewer connections are busy than it counts: four
// connections at depth 1 can never supply 16 completions, so every pass
// waited the whole wait_usec and the reactor served 40k requests/s where
// epoll served 146k (wrk -c4, one reactor). What the last pass handled is
// what the load supplies now; waiting for all of it again still made a few
// connections in lock-step wait for the slowest of them (117k); waiting for
// half lets the batch follow the load (156k). Under heavy load it wakes
// more often than a fixed batch: 0 to 3.5% more CPU per request at 256
// connections and depth 16 (two runs of 14 and 20 alternated rounds), a
// price worth paying for never stalling a light load.
func (r *reactor) waitFor() (uint32, time.Duration) {
	if r.ring.CQReady() > 0 {
		return 0, -1
	}
	if r.reaped > 0 {
		return uint32(max(1, r.reaped/2)), r.s.opts.wait
	}
	d := wakeAfter
	if next, ok := r.timers.Next(); ok {
		d = min(d, time.Duration(next-r.now))
	}
	if r.acceptPause != 0 {
		d = min(d, time.Duration(r.acceptPause-r.now))
	}
	return 1, max(d, 0)
}

func (r *reactor) publish() {
	r.c[models.SysIOUringEnter] += r.ring.Enters - r.enters
	r.c[models.SQEs] += r.ring.Submitted - r.submitted
	r.c[models.SQPollWakeups] += r.ring.Wakeups - r.wakeups
	r.c[models.RuntimeWaits] += r.ring.RuntimeWaits - r.runtimeWaits
	r.enters, r.submitted, r.wakeups, r.runtimeWaits = r.ring.Enters, r.ring.Submitted, r.ring.Wakeups, r.ring.RuntimeWaits
	r.s.meter.Publish(r.id, &r.c)
}

// getSQE returns a free SQE, submitting what is queued when the SQ is full.
func (r *reactor) getSQE() *ring.SQE {
	for {
		if sqe := r.ring.GetSQE(); sqe != nil {
			return sqe
		}
		r.ring.Submit()
	}
}

func (r *reactor) handle(cqe *ring.CQE) {
	op, gen, fd := unpack(cqe.UserData)
	switch op {
	case opRecv:
		c := r.lookup(fd, gen)
		if c == nil {
			if cqe.Flags&ring.CQEFBuffer != 0 {
				r.recycle(cqe.BufferID()) // a stale receive still filled a buffer
			}
			return
		}
		r.onRecv(c, cqe)
	case opSend:
		if c := r.lookup(fd, gen); c != nil {
			r.onSend(c, cqe)
		}
	case opAccept:
		r.onAccept(cqe)
	case opHandoff:
		if cqe.Res >= 0 {
			r.add(int(cqe.Res))
		}
	case opWake:
		r.waking = false
		// Stopping, connections with a handler running still need their
		// Resumes; quiesce cancels the read at the very end.
		if !r.s.end.Stopping.Load() || r.open > 0 {
			r.armWake()
		}
		r.takeResumes()
	case opSplice:
		if c := r.lookup(fd, gen); c != nil {
			r.onSplice(c, cqe)
		}
	case opFiles:
		// Only a failed update completes (CQE_SKIP_SUCCESS). For a live
		// connection it is the fill (the emptying is queued as it
		// closes): send by descriptor. (Sends already submitted through
		// the slot fail, and the connection closes.)
		if c := r.lookup(fd, gen); c != nil {
			c.fixed = false
		}
	}
}

func (r *reactor) lookup(fd int, gen uint32) *conn {
	if fd < 0 || fd >= len(r.conns) {
		return nil
	}
	if c := r.conns[fd]; c != nil && c.gen&0xffffff == gen {
		return c
	}
	return nil
}

func (r *reactor) armWake() {
	sqe := r.getSQE()
	sqe.PrepRead(r.efd, r.wakeBuf[:8], ^uint64(0))
	sqe.SetData64(pack(opWake, 0, 0))
	r.waking = true
}

// --- accepting ---------------------------------------------------------------

func (r *reactor) armAccept() {
	sqe := r.getSQE()
	sqe.PrepMultishotAccept(r.lnfd, unix.SOCK_CLOEXEC)
	sqe.SetData64(pack(opAccept, 0, r.lnfd))
	r.accepting = true
}

func (r *reactor) onAccept(cqe *ring.CQE) {
	if cqe.Flags&ring.CQEFMore == 0 {
		r.accepting = false
	}
	if cqe.Res >= 0 {
		r.c[models.Accepted]++
		r.backoff = 0
		r.load.Add(1)
		r.add(int(cqe.Res))
	} else if sock.OutOfResources(unix.Errno(-cqe.Res)) {
		// Out of descriptors: the accept queue keeps the connections; arm
		// again after a back-off, or as soon as one of ours closes.
		r.c[models.AcceptErrors]++
		r.backoff = min(max(2*r.backoff, int64(10*time.Millisecond)), int64(time.Second))
		r.acceptPause = r.now + r.backoff
	}
	// -EINVAL: the listener has stopped listening (a graceful stop shut
	// it down and this reactor has not seen the stop yet).
	if !r.accepting && r.lnfd >= 0 && !r.draining && r.acceptPause == 0 && cqe.Res != -int32(unix.EINVAL) {
		r.c[models.Rearms]++
		r.armAccept()
	}
}

// add takes a connection accepted here or handed over by the acceptor
// (already counted in load).
func (r *reactor) add(fd int) {
	total := r.s.open.Add(1)
	full := r.s.opts.perLoop > 0 && r.open >= r.s.opts.perLoop ||
		r.s.cfg.MaxConns > 0 && total > int64(r.s.cfg.MaxConns)
	if r.draining || full {
		r.s.open.Add(-1)
		if !r.draining {
			r.c[models.Rejected]++
		}
		unix.Close(fd)
		r.c[models.SysClose]++
		r.c[models.Closed]++
		r.load.Add(-1)
		return
	}
	sock.SetNoDelay(fd)
	c := r.newConn(fd)
	r.fix(c)
	c.lastActive = r.now
	r.armRecv(c)
	r.setDue(c, r.now+int64(r.s.cfg.IdleTimeout))
}

// fileSlots sizes a reactor's registered file table: a slot for every
// descriptor the process may open (the kernel allows no more), but at most
// 65536 (per reactor, 8 bytes of kernel memory a slot and 4 of the
// reactor's); a socket with a higher descriptor is sent to by descriptor.
func fileSlots() uint32 {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	return uint32(min(lim.Cur, 1<<16))
}

// fix puts the connection's socket in slot fd of the registered file table,
// for its sends; without a slot for it, it is sent to by descriptor.
func (r *reactor) fix(c *conn) {
	if c.fd >= len(r.slots) {
		return
	}
	r.updateSlot(c, c.fd)
	c.fixed = true
}

// unfix empties the connection's slot as its descriptor closes: the slot
// holds a reference of its own, and the socket would stay open.
func (r *reactor) unfix(c *conn) {
	r.updateSlot(c, -1)
	c.fixed = false
}

// updateSlot writes v (a descriptor, or -1) in the cell of the connection's
// slot and queues an SQE that puts the cell's value in the slot. It goes to
// the kernel with this pass's other SQEs, in order, so a fill is issued
// before the sends that use it; it posts a CQE only if it fails.
//
// The kernel reads the cell when it issues the update, which with SQPOLL
// may be after a later update of the same slot has changed it. It reads a
// later value then, never a wrong one: while the cell says fd, descriptor
// fd is that connection's and open; the cell says -1 from just before the
// close until the next connection with that descriptor is taken; and what
// the slot ends up holding is the cell's last value.
func (r *reactor) updateSlot(c *conn, v int) {
	r.slots[c.fd] = int32(v)
	sqe := r.getSQE()
	sqe.PrepFilesUpdate(r.slots[c.fd:c.fd+1], c.fd)
	sqe.Flags |= ring.SQECQESkipSuccess
	sqe.SetData64(pack(opFiles, c.gen, c.fd))
}

// --- the end of a pass ---------------------------------------------------------

// endPass gives the buffers used in this pass back to the kernel in one
// store, re-arms the receives that ended, and sends what this pass answered:
// one send per connection.
func (r *reactor) endPass() {
	if r.recycled > 0 {
		r.br.Advance(r.recycled)
		r.recycled = 0
	}
	for _, s := range r.starved {
		if c := s.c; s.live() && c.wantsRecv() {
			r.c[models.Rearms]++
			r.armRecv(c)
		}
	}
	clear(r.starved)
	r.starved = r.starved[:0]
	if len(r.dirty) > 0 {
		for _, d := range r.dirty {
			if d.live() {
				d.c.dirty = false
				r.send(d.c)
			}
		}
		clear(r.dirty)
		r.dirty = r.dirty[:0]
	}
	if r.acceptPause != 0 && r.now >= r.acceptPause && !r.draining {
		r.acceptPause = 0
		if !r.accepting && r.lnfd >= 0 {
			r.c[models.Rearms]++
			r.armAccept()
		}
	}
}

// --- timers ------------------------------------------------------------------

func (r *reactor) setDue(c *conn, due int64) {
	c.due = due
	if !c.timerSet || due < c.timerAt {
		c.timerSet, c.timerAt = true, due
		r.timers.Push(due, ref{c, c.gen})
	}
}

func (r *reactor) expire() {
	for {
		due, ok := r.timers.Next()
		if !ok || due > r.now {
			return
		}
		_, t := r.timers.Pop()
		c := t.c
		if !t.live() || !c.timerSet || c.timerAt != due {
			continue
		}
		c.timerSet = false
		if due := r.dueAt(c); due > r.now {
			r.setDue(c, due) // moved on since: re-arm
			continue
		}
		if c.sess.Working() {
			r.setDue(c, r.now+int64(r.s.cfg.IdleTimeout)) // a handler owes the response: not idle
			continue
		}
		switch {
		case c.lingering:
		case c.headTimed():
			r.c[models.HeaderTimeouts]++
		default:
			r.c[models.IdleTimeouts]++
		}
		r.close(c)
	}
}

// --- stopping ----------------------------------------------------------------

func (r *reactor) drain() {
	r.draining = true
	if r.lnfd >= 0 {
		closeListener(r.lnfd, &r.c)
		// The accept has ended with the listener's shutdown; the cancel
		// only makes sure of it.
		if r.accepting {
			sqe := r.getSQE()
			sqe.PrepCancel64(pack(opAccept, 0, r.lnfd), 0)
			sqe.SetData64(pack(opCancel, 0, 0))
		}
		r.lnfd = -1
	}
	if a := r.s.acceptor; a != nil {
		<-a.closed // the shared listener is closed before connections are
	}
	for _, c := range r.conns {
		if c == nil || c.lingering || c.shut {
			continue
		}
		c.sess.Drain()
		if c.sess.InFlight() {
			continue // its handler is running; the response will close
		}
		if c.sending || len(c.out) > 0 {
			c.closing = true // after its output
			continue
		}
		r.startLinger(c)
	}
}

// closeAll closes every connection at once.
func (r *reactor) closeAll() {
	r.draining = true
	if r.lnfd >= 0 {
		closeListener(r.lnfd, &r.c)
		r.lnfd = -1
	}
	r.accepting = false
	for _, c := range r.conns {
		if c != nil {
			r.close(c)
		}
	}
}

// quiesce cancels whatever is still in flight and reaps until nothing is,
// for at most a second, so that teardown can unmap the memory those
// operations use. It reports whether it succeeded.
func (r *reactor) quiesce() bool {
	pending := func() bool {
		if r.waking || r.accepting {
			return true
		}
		for _, c := range r.conns {
			if c != nil && (c.recvArmed || c.sending) {
				return true
			}
		}
		return false
	}
	if !pending() {
		return true
	}
	sqe := r.getSQE()
	sqe.PrepCancel64(0, ring.CancelAny|ring.CancelAll)
	sqe.SetData64(pack(opCancel, 0, 0))
	deadlineAt := time.Now().Add(time.Second)
	for pending() && time.Now().Before(deadlineAt) {
		r.ring.SubmitAndWaitTimeout(1, 10*time.Millisecond)
		n := r.ring.PeekBatchCQE(r.cqes)
		for _, cqe := range r.cqes[:n] {
			op, gen, fd := unpack(cqe.UserData)
			more := cqe.Flags&ring.CQEFMore != 0
			switch op {
			case opWake:
				r.waking = false
			case opAccept:
				r.accepting = r.accepting && more
			case opRecv, opSend, opSplice:
				if c := r.lookup(fd, gen); c != nil {
					if op == opRecv && !more {
						c.recvArmed = false
					}
					if op != opRecv {
						c.sending = false
					}
					r.finish(c)
				}
			}
		}
		r.ring.CQAdvance(uint32(n))
	}
	return !pending()
}

// --- output buffers ------------------------------------------------------------

// getOut returns an empty output buffer and whether it is mapped: from the
// reactor's pool of mapped ones, or, when the connection's last output grew
// to grew bytes on the heap, a heap buffer as large if the reactor kept one
// (it is pinned while sent, as any heap buffer). The kernel reads it during
// a send, so a pooled one lives outside the Go heap: a mapping of its own,
// so that one beyond the pool can be unmapped when it comes back (slices of
// a shared mapping could only be dropped, and a burst of busy connections
// would leave their memory mapped for good).
func (r *reactor) getOut(grew int) ([]byte, bool) {
	if grew > 0 {
		if b := r.grown.Get(grew); b != nil {
			return b, false
		}
	}
	if n := len(r.outFree); n > 0 {
		b := r.outFree[n-1]
		r.outFree = r.outFree[:n-1]
		return b, true
	}
	m, err := ring.Mmap(r.s.opts.sendBuffer)
	if err != nil {
		return make([]byte, 0, r.s.opts.sendBuffer), false // heap, pinned while sent (see send)
	}
	return m[:0], true
}

// putOut takes back a buffer once no send of it is in flight: a mapped one
// to the pool, or, past pooledOut, unmapped; a heap one (Serve grew it, or
// it came from grown) to grown, for the next turn that needs as much.
func (r *reactor) putOut(b []byte, mapped bool) {
	if !mapped {
		r.grown.Put(b)
		return
	}
	if len(r.outFree) < pooledOut {
		r.outFree = append(r.outFree, b[:0])
		return
	}
	ring.Munmap(b[:cap(b)])
}

// closeListener stops a listener at once, before the connections are
// drained. Closing the descriptor alone would not: the ring holds its own
// reference to the socket while a multishot accept is armed, and until a
// cancel is processed (with SQPOLL, when the kernel thread gets to it) the
// accept goes on taking connections from the queue. shutdown on a listening
// socket stops it listening and resets the connections still queued, as a
// close does for a core without a ring, and ends the armed accept.
func closeListener(fd int, c *models.Counters) {
	c[models.SysShutdown]++
	unix.Shutdown(fd, unix.SHUT_RDWR)
	c[models.SysClose]++
	unix.Close(fd)
}
