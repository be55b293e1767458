package loadgen

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"iolab/models/http1"
)

const (
	// readBufSize is the worker's shared read buffer: every connection
	// reads into it, and only the tail of a response cut by the read's end
	// is copied into the connection's own (small, pooled) buffer. 50,000
	// connections then do not need 50,000 read buffers.
	readBufSize = 64 << 10
	// carryBufSize is a pooled per-connection buffer for such a tail.
	carryBufSize = 4 << 10
	pooledBufs   = 1024
	// pooledBig is how many larger buffers (for responses larger than
	// a carry buffer) a worker keeps; beyond it they go to the collector.
	pooledBig = 64
	maxEvents = 1024
	// connectsInFlight bounds the connects in progress at once, over all
	// workers: a burst of 50,000 SYNs overflows the server's accept queue,
	// and every dropped SYN is retried only a second later.
	connectsInFlight = 1024
	backoffMin       = int64(10 * time.Millisecond)
	backoffMax       = int64(time.Second)
)

// Error categories, indexes of counters.errs.
const (
	errConnect = iota
	errRead
	errWrite
	errTimeout
	errParse
	errStatus
	errBody
	numErrKinds
)

// epoch anchors the workers' monotonic clock. It never reads 0, which
// run.t0 uses to mean "not started".
var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) + 1 }

// counters are one worker's plain counters (no atomics: one thread owns
// them), for the measured window.
type counters struct {
	sent, received, lost    uint64
	truncated               uint64 // responses cut short by the end of their connection
	issued, expired         uint64
	bytesRead, bytesWritten uint64
	reconnects              uint64
	churned                 uint64 // connections closed after RequestsPerConn responses
	inFlight, waiting       uint64 // at the end
	// Syscalls made in the window, by kind: what the client costs the
	// kernel, the same figure the server cores count.
	sysWait, sysRead, sysWrite, sysConnect, sysClose uint64
	status                                           [5]uint64
	errs                                             [numErrKinds]uint64
}

// worker is one thread's share of the load: its connections, epoll
// instance, buffers, schedule, histograms and counters. Only its own thread
// touches it while it runs; the coordinator reads it after it has exited.
type worker struct {
	r      *run
	id     int
	epfd   int
	efd    int
	events []unix.EpollEvent
	conns  []conn
	rbuf   []byte
	bufs   [][]byte // free carry buffers
	big    [][]byte // free larger buffers
	gen    uint32
	now    int64

	// Connecting: slots waiting to connect, in order, and how many
	// connects are in progress.
	queue      []int32
	queueHead  int
	connecting int
	maxConnect int
	initial    int // connections not yet connected or failed once

	loading   bool // the load has begun (after the connect phase)
	primed    bool // closed loop: the first batches have been sent
	recording bool // inside the measured window
	stopping  bool
	finished  bool // count mode: everything asked of this worker is done
	winStart  int64
	winEnd    int64
	countMode bool

	open      bool    // open loop
	interval  float64 // ns between this worker's requests
	nextDue   float64 // when the next request is due
	rr        int     // the connection it is due on
	issueLeft int64   // open loop, count mode: window requests left to issue (-1: no limit)
	quotaLeft int64   // closed loop, count mode: window requests left to send (-1: no limit)
	inflight  int64   // requests sent and not yet answered or lost
	owed      int64   // open loop: requests issued and not yet sent

	ct          counters
	cur         *hdrhistogram.Histogram // this second's latencies
	total       *hdrhistogram.Histogram // the window's, but for cur
	sec         int
	secEnd      int64
	secRequests uint64
	secErrors   uint64
	nextScan    int64
	scanEvery   int64
	cpu0        [2]time.Duration
	cpu         [2]time.Duration // user, system over the window
	lastDone    int64            // when the last measured response arrived

	progress atomic.Uint64 // answered + lost + expired, for the coordinator's stall guard
	err      error         // fatal: the worker stopped on it
}

// conn states.
const (
	csIdle       = iota // in the connect queue
	csWaiting           // backing off after a failed connect, until retryAt
	csConnecting        // connect in progress
	csOpen
)

// conn is one connection's state. Its slot in worker.conns is fixed; the
// descriptor changes with every reconnect, and gen tells a stale event from
// a current one.
type conn struct {
	fd        int
	gen       uint32
	slot      int32 // index in worker.conns: the epoll data that finds it
	state     uint8
	initial   bool // counts in worker.initial
	closeSent bool // a request saying "Connection: close" is in flight: send nothing more
	src       int  // source address index, or -1
	p         http1.ResponseParser

	in     []byte // the start of a response cut by the end of a read
	out    []byte // the batch being written: a view into the plan's request ring
	outOff int

	// times is a ring of request times: [head, sent) are in flight (their
	// send time, or in open loop their intended time), [sent, tail) are
	// due and not yet sent (open loop only). len(times) is a power of two.
	times            []int64
	head, sent, tail uint64
	next             int // rotation index of the next request to send
	oldest           int // rotation index of the oldest request in flight

	quota    int64 // closed loop, count mode: window requests left to send (-1: no limit)
	answered int64 // responses on this connection since it opened
	budget   int64 // RequestsPerConn: requests this connection may still send (-1: no limit)
	since    int64 // when the connect began
	retryAt  int64
	backoff  int64
}

func newWorker(r *run, id int, slots []int) (*worker, error) {
	w := &worker{r: r, id: id, epfd: -1, efd: -1, events: make([]unix.EpollEvent, maxEvents),
		rbuf: make([]byte, readBufSize), cur: newHist(), total: newHist(),
		maxConnect: max(16, connectsInFlight/len(r.workers)), countMode: r.p.cfg.Count > 0,
		issueLeft: -1, quotaLeft: -1}
	w.scanEvery = min(max(int64(r.p.cfg.Timeout)/10, int64(5*time.Millisecond)), int64(50*time.Millisecond))
	var err error
	if w.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if w.efd, err = eventfd(); err != nil {
		unix.Close(w.epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if e := epollCtl(w.epfd, unix.EPOLL_CTL_ADD, w.efd, &ev); e != 0 {
		w.closeFDs()
		return nil, os.NewSyscallError("epoll_ctl", e)
	}
	cfg := r.p.cfg
	ringLen := 1
	for ringLen < cfg.Pipeline {
		ringLen <<= 1
	}
	if cfg.Rate > 0 {
		ringLen = max(ringLen, 16) // room for some backlog before growing
	}
	k := len(r.p.reqs)
	w.conns = make([]conn, len(slots))
	times := make([]int64, ringLen*len(slots))
	for i, g := range slots {
		c := &w.conns[i]
		*c = conn{fd: -1, slot: int32(i), src: -1, initial: true, quota: -1, times: times[i*ringLen : (i+1)*ringLen : (i+1)*ringLen]}
		c.p.DecodeChunked = len(cfg.ExpectBody) > 0 || len(cfg.ExpectBodies) > 0
		c.p.MaxHeadBytes = min(cfg.MaxResponse, http1.DefaultMaxResponseHead)
		if len(r.srcs) > 0 {
			c.src = g % len(r.srcs)
		}
		c.next = g % k // connections start at different points of the rotation
		c.oldest = c.next
		if w.countMode && cfg.Rate == 0 {
			c.quota = cfg.Count / int64(cfg.Connections)
			if int64(g) < cfg.Count%int64(cfg.Connections) {
				c.quota++
			}
			w.quotaLeft = max(w.quotaLeft, 0) + c.quota
		}
		w.queue = append(w.queue, int32(i))
	}
	w.initial = len(slots)
	return w, nil
}

// closeFDs closes the epoll instance. The eventfd is closed by the
// coordinator, after every worker has exited: a wake-up must never reach a
// descriptor number the kernel has reused since.
func (w *worker) closeFDs() {
	if w.epfd >= 0 {
		unix.Close(w.epfd)
		w.epfd = -1
	}
}

// loop runs the worker on its own locked thread until the run stops.
func (w *worker) loop() {
	runtime.LockOSThread() // never unlocked: the thread dies with its timer slack changed
	defer w.r.exited.Done()
	if w.open {
		lowTimerSlack()
	}
	w.now = nanotime()
	w.nextScan = w.now + w.scanEvery
	w.pumpConnects()
	for !w.stopping {
		w.step()
	}
	w.finish()
}

// step waits for events (at most until the next thing due), handles them,
// then does what time asks for.
func (w *worker) step() {
	n, e, calls := wait(w.epfd, w.events, w.waitTimeout())
	w.now = nanotime()
	if w.inWindow() {
		w.ct.sysWait += uint64(calls)
	}
	if e != 0 {
		if e != unix.EINTR {
			w.err = os.NewSyscallError("epoll_wait", e)
			w.stopping = true
			return
		}
		n = 0
	}
	if w.loading && w.now >= w.winEnd {
		// What arrived after the window stays in flight: counting it would
		// stretch the window by however long this thread took to wake.
		w.stopping = true
		return
	}
	for i := 0; i < n && !w.stopping; i++ {
		w.dispatch(&w.events[i])
	}
	w.tick()
}

func (w *worker) waitTimeout() int64 {
	if w.stopping || w.queueHead < len(w.queue) && w.connecting < w.maxConnect {
		return 0
	}
	next := w.nextScan
	if w.loading {
		next = min(next, w.winEnd)
		if !w.recording {
			next = min(next, w.winStart)
		}
		if w.open && w.issueLeft != 0 {
			next = min(next, int64(w.nextDue))
		}
	}
	return max(next-w.now, 0)
}

func (w *worker) dispatch(ev *unix.EpollEvent) {
	if ev.Fd < 0 {
		drainEventfd(w.efd)
		return
	}
	c := &w.conns[ev.Fd]
	if c.gen != uint32(ev.Pad) || c.fd < 0 {
		return // an event for a descriptor since closed
	}
	switch c.state {
	case csConnecting:
		if ev.Events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			w.connecting--
			if w.inWindow() {
				w.ct.sysConnect++
			}
			if e := soError(c.fd); e != 0 {
				w.connectFailed(c)
				return
			}
			w.opened(c)
		}
	case csOpen:
		if ev.Events&unix.EPOLLOUT != 0 && c.outOff < len(c.out) {
			if !w.flush(c) {
				return
			}
		}
		if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			if !w.readAll(c, ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0) {
				return
			}
		}
		w.pump(c)
	}
}

// tick does what the clock asks: begin the load or the window, roll the
// second over, issue what the open loop's schedule has made due, expire
// what waited too long, start queued connects, and stop.
func (w *worker) tick() {
	r := w.r
	if !w.loading {
		if t0 := r.t0.Load(); t0 != 0 {
			w.beginLoad(t0)
		}
	}
	if r.stop.Load() || w.loading && w.now >= w.winEnd {
		w.stopping = true
		return
	}
	if w.loading {
		if !w.recording && w.now >= w.winStart {
			w.recording = true
			w.cpu0[0], w.cpu0[1] = threadCPU()
			w.sec, w.secEnd = 0, w.winStart+int64(time.Second)
		}
		if w.recording && w.now >= w.secEnd {
			w.rollover()
		}
		if w.open {
			w.issue()
		} else if !w.primed {
			// The first batches, sent once the window's start is known, so
			// that their writes count where their requests do.
			w.primed = true
			for i := range w.conns {
				w.pump(&w.conns[i])
			}
		}
	}
	if w.now >= w.nextScan {
		w.scan()
		w.nextScan = w.now + w.scanEvery
	}
	w.pumpConnects()
	if w.countMode && w.recording && w.inflight == 0 && w.owed == 0 && w.quotaLeft <= 0 && w.issueLeft <= 0 {
		w.stopping, w.finished = true, true
	}
	w.progress.Store(w.ct.received + w.ct.lost + w.ct.expired)
}

func (w *worker) beginLoad(t0 int64) {
	r := w.r
	w.loading = true
	w.winStart, w.winEnd = r.winStart, r.winEnd
	if w.open {
		// Workers interleave their schedules rather than all sending at t0.
		w.nextDue = float64(t0) + float64(w.id)*w.interval/float64(len(r.workers))
	}
}

// rollover publishes the seconds that have ended.
func (w *worker) rollover() {
	for w.now >= w.secEnd {
		w.publishSecond()
		w.sec++
		w.secEnd += int64(time.Second)
	}
}

func (w *worker) publishSecond() {
	var h *hdrhistogram.Histogram
	if w.cur.TotalCount() > 0 {
		h = w.cur
	}
	w.r.tl.publish(w.id, w.sec, w.secRequests, w.secErrors, h)
	if h != nil {
		w.total.Merge(h)
		w.cur.Reset()
	}
	w.secRequests, w.secErrors = 0, 0
}

// --- connecting ----------------------------------------------------------------

func (w *worker) pumpConnects() {
	for w.queueHead < len(w.queue) && w.connecting < w.maxConnect && !w.stopping {
		c := &w.conns[w.queue[w.queueHead]]
		w.queueHead++
		w.connect(c)
	}
	// Reclaim the consumed front, so that a queue that never quite drains
	// (a server refusing connections, retried forever) does not grow.
	if w.queueHead > 0 && w.queueHead >= len(w.queue)/2 {
		n := copy(w.queue, w.queue[w.queueHead:])
		w.queue, w.queueHead = w.queue[:n], 0
	}
}

func (w *worker) enqueue(c *conn) {
	c.state = csIdle
	w.queue = append(w.queue, c.slot)
}

func (w *worker) connect(c *conn) {
	r := w.r
	if w.inWindow() {
		// socket, TCP_NODELAY, epoll_ctl, connect; with a source address
		// also IP_BIND_ADDRESS_NO_PORT and bind (and the port range a test
		// may narrow); the outcome's getsockopt is counted in dispatch.
		w.ct.sysConnect += 4
		if c.src >= 0 {
			w.ct.sysConnect += 2
		}
	}
	fd, e := socket(r.dst.family)
	if e != 0 {
		w.connectFailed(c)
		return
	}
	c.fd = fd
	setsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	if c.src >= 0 {
		// The kernel picks the port at connect time, knowing the
		// destination, so each source address has its whole port range
		// for each destination rather than for all of them.
		setsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		if portRange != 0 {
			setsockoptInt(fd, unix.SOL_IP, unix.IP_LOCAL_PORT_RANGE, int(portRange))
		}
		if bind(fd, &r.srcs[c.src]) != 0 {
			w.connectFailed(c)
			return
		}
	}
	w.gen++
	c.gen = w.gen
	// Edge-triggered, for input and output, once: no epoll_ctl is needed
	// again for the life of the connection (an output edge costs nothing
	// until a write has met a full socket buffer).
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd: c.slot, Pad: int32(c.gen)}
	if epollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev) != 0 {
		w.connectFailed(c)
		return
	}
	c.since = w.now
	switch connect(fd, &r.dst) {
	case 0:
		w.opened(c)
	case unix.EINPROGRESS:
		c.state = csConnecting
		w.connecting++
	default:
		w.connectFailed(c)
	}
}

func (w *worker) opened(c *conn) {
	c.state = csOpen
	c.closeSent = false
	c.answered = 0
	c.budget = -1
	if n := w.r.p.cfg.RequestsPerConn; n > 0 {
		c.budget = int64(n)
	}
	c.p.Reset()
	if c.initial {
		c.initial = false
		w.initialDone()
	} else if w.inWindow() {
		w.ct.reconnects++
	}
	w.pump(c)
}

func (w *worker) connectFailed(c *conn) {
	if c.fd >= 0 {
		w.closeFD(c)
	}
	if w.inWindow() {
		w.countErr(errConnect)
	}
	c.backoff = min(max(2*c.backoff, backoffMin), backoffMax)
	c.retryAt = w.now + c.backoff
	c.state = csWaiting
	if c.initial {
		c.initial = false
		w.initialDone()
	}
}

func (w *worker) initialDone() {
	if w.initial--; w.initial == 0 {
		w.r.workerConnected()
	}
}

// --- sending -------------------------------------------------------------------

// pump sends what the connection may send now. Closed loop: the next batch
// once the whole previous one is answered. Open loop: what is due, as far as
// the pipeline has room. A batch never continues past a request that closes
// the connection.
func (w *worker) pump(c *conn) {
	if c.state != csOpen || c.outOff < len(c.out) || !w.loading || w.stopping || c.closeSent || c.budget == 0 {
		return
	}
	p := w.r.p
	var k int
	if w.open {
		k = min(int(c.tail-c.sent), p.cfg.Pipeline-int(c.sent-c.head), p.batchEnd[c.next])
		if c.budget > 0 {
			k = min(k, int(c.budget))
		}
		if k <= 0 {
			return
		}
		mask := uint64(len(c.times) - 1)
		for i := c.sent; i < c.sent+uint64(k); i++ {
			if c.times[i&mask] >= w.winStart {
				w.ct.sent++
			}
		}
		w.owed -= int64(k)
	} else {
		if c.head != c.tail {
			return
		}
		k = p.batchEnd[c.next]
		if c.budget > 0 {
			k = min(k, int(c.budget))
		}
		t := nanotime()
		w.now = t
		if t >= w.winStart {
			if c.quota >= 0 {
				k = min(k, int(c.quota))
				if k == 0 {
					return
				}
				c.quota -= int64(k)
				w.quotaLeft -= int64(k)
			}
			w.ct.sent += uint64(k)
		}
		mask := uint64(len(c.times) - 1)
		for i := 0; i < k; i++ {
			c.times[(c.tail+uint64(i))&mask] = t
		}
		c.tail += uint64(k)
	}
	c.sent += uint64(k)
	w.inflight += int64(k)
	if c.budget > 0 {
		c.budget -= int64(k)
	}
	last := c.next + k - 1
	if last >= len(p.reqs) {
		last %= len(p.reqs)
	}
	c.closeSent = p.reqs[last].closes
	c.out, c.outOff = p.ring[p.off[c.next]:p.off[c.next+k]], 0
	if c.next += k; c.next >= len(p.reqs) {
		c.next %= len(p.reqs)
	}
	w.flush(c)
}

// flush writes the pending batch; a full socket buffer keeps the rest for
// the next output edge. It reports whether the connection is still open.
func (w *worker) flush(c *conn) bool {
	for c.outOff < len(c.out) {
		n, e := send(c.fd, c.out[c.outOff:])
		if w.inWindow() {
			w.ct.sysWrite++
		}
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			if e == unix.EAGAIN {
				return true
			}
			w.drop(c, errWrite)
			return false
		}
		c.outOff += n
		if w.inWindow() {
			w.ct.bytesWritten += uint64(n)
		}
	}
	c.out, c.outOff = nil, 0
	return true
}

// issue puts every request the open loop's schedule has made due on its
// connection (in turn), and sends what can be sent.
func (w *worker) issue() {
	for float64(w.now) >= w.nextDue && w.issueLeft != 0 {
		w.pump(w.issueNext())
	}
}

// catchUp issues, as the window closes, the requests the schedule made due
// before its end that this thread, waking late, had not yet issued: they
// were due, so they count as issued and, unsent, as waiting (the client
// fell behind), rather than as never scheduled.
func (w *worker) catchUp() {
	end := float64(min(w.now, w.winEnd))
	for w.nextDue < end && w.issueLeft != 0 {
		w.issueNext()
	}
}

// issueNext puts the next request of the schedule on its connection and
// returns the connection.
func (w *worker) issueNext() *conn {
	t := int64(w.nextDue)
	c := &w.conns[w.rr]
	if w.rr++; w.rr == len(w.conns) {
		w.rr = 0
	}
	c.push(t)
	w.owed++
	if t >= w.winStart {
		w.ct.issued++
		if w.issueLeft > 0 {
			w.issueLeft--
		}
	}
	w.nextDue += w.interval
	return c
}

// push adds a due request, growing the ring when a backlog has filled it (a
// stalled server, in open loop: an allocation now and then, never per
// request once the backlog's size has been seen).
func (c *conn) push(t int64) {
	if c.tail-c.head == uint64(len(c.times)) {
		grown := make([]int64, 2*len(c.times))
		oldMask, newMask := uint64(len(c.times)-1), uint64(len(grown)-1)
		for i := c.head; i != c.tail; i++ {
			grown[i&newMask] = c.times[i&oldMask]
		}
		c.times = grown
	}
	c.times[c.tail&uint64(len(c.times)-1)] = t
	c.tail++
}

// --- receiving -----------------------------------------------------------------

// readAll reads until the socket is drained. It reports whether the
// connection is still open. ended says the peer has closed or the socket
// failed: then it reads on to the end of the stream (see below).
func (w *worker) readAll(c *conn, ended bool) bool {
	for {
		base := len(c.in)
		own := base > len(w.rbuf)/2 // a large response accumulates in its own buffer
		var dst []byte
		if own {
			if !w.growIn(c) {
				w.drop(c, errParse)
				return false
			}
			dst = c.in[:cap(c.in)]
		} else {
			dst = w.rbuf
		}
		// Read after the kept bytes' place; they are copied in front only
		// once the read has brought something (EAGAIN leaves c.in alone).
		n, e := read(c.fd, dst[base:])
		if w.inWindow() {
			w.ct.sysRead++
		}
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			if e == unix.EAGAIN {
				return true
			}
			w.eof(c, false)
			return false
		}
		if n == 0 {
			w.eof(c, true)
			return false
		}
		w.now = nanotime()
		if w.now >= w.winEnd {
			w.stopping = true // the window closed during this turn: see step
			return false
		}
		if w.inWindow() {
			w.ct.bytesRead += uint64(n)
		}
		if w.recording && w.now >= w.secEnd {
			w.rollover()
		}
		if !own && base > 0 {
			copy(dst, c.in)
		}
		if !w.frame(c, dst[:base+n], own) {
			return false
		}
		// A short read drained the socket: an edge-triggered descriptor
		// reports any byte that arrives later, so there is no need to read
		// on to EAGAIN, which would cost a syscall per turn. Not so for an
		// end of stream that had already arrived with the data: it raises
		// no new edge, so when the event said the peer closed, read on
		// until the read that returns it.
		if n < len(dst)-base && !ended {
			return true
		}
	}
}

// growIn makes room in a connection's own buffer: to the length the framer
// says the response needs, else double, within MaxResponse.
func (w *worker) growIn(c *conn) bool {
	if cap(c.in)-len(c.in) >= carryBufSize {
		return true
	}
	limit := w.r.p.cfg.MaxResponse
	if len(c.in) >= limit {
		return false
	}
	n := min(max(c.p.Need(), 2*cap(c.in)), limit)
	grown := w.getBuf(n)[:len(c.in)]
	copy(grown, c.in)
	w.putBuf(c.in)
	c.in = grown
	return true
}

// frame frames every complete response in data (which begins at the start
// of the response in progress) and keeps the incomplete rest. It reports
// whether the connection is still open.
func (w *worker) frame(c *conn, data []byte, own bool) bool {
	reqs := w.r.p.reqs
	off := 0
	for off < len(data) {
		if c.head == c.sent {
			w.drop(c, errParse) // bytes nobody asked for: the stream cannot be trusted
			return false
		}
		n, err := c.p.Parse(data[off:], reqs[c.oldest].method)
		if err != nil {
			if err == http1.ErrNeedMore {
				break
			}
			w.drop(c, errParse)
			return false
		}
		off += n
		resp := c.p.Response()
		if resp.Interim() {
			continue
		}
		w.complete(c, resp)
		if resp.Close {
			w.drop(c, errRead)
			return false
		}
		if c.budget == 0 && c.head == c.sent {
			w.churn(c) // its requests are answered: close it, open another
			return false
		}
	}
	rest := data[off:]
	switch {
	case len(rest) == 0:
		if c.in != nil {
			w.putBuf(c.in)
			c.in = nil
		}
	case len(rest) >= w.r.p.cfg.MaxResponse:
		w.drop(c, errParse)
		return false
	case own:
		if off > 0 {
			copy(c.in[:cap(c.in)], rest)
		}
		c.in = c.in[:len(rest)]
	default:
		if cap(c.in) < len(rest) {
			w.putBuf(c.in)
			c.in = w.getBuf(len(rest))
		}
		c.in = append(c.in[:0], rest...)
	}
	return true
}

// complete accounts for the response to the oldest request in flight.
func (w *worker) complete(c *conn, resp *http1.Response) {
	start := c.times[c.head&uint64(len(c.times)-1)]
	idx := c.oldest // the request of the rotation this response answers
	c.head++
	c.answered++
	if c.oldest++; c.oldest == len(w.r.p.reqs) {
		c.oldest = 0
	}
	w.inflight--
	if start < w.winStart {
		return // sent during the warm-up
	}
	us := (w.now - start) / 1000
	us = min(max(us, histMinUs), histMaxUs)
	w.cur.RecordValue(us)
	w.ct.received++
	w.secRequests++
	w.ct.status[resp.Status/100-1]++
	switch {
	case w.r.expectStatus != 0 && resp.Status != w.r.expectStatus:
		w.countErr(errStatus)
	case len(w.r.expectBody) > 0 && string(resp.Body) != string(w.r.expectBody):
		w.countErr(errBody)
	case len(w.r.expectBodies) > 0 && string(resp.Body) != w.r.expectBodies[idx]:
		w.countErr(errBody)
	}
	w.lastDone = w.now
}

// eof handles the end of the connection: a clean end of stream completes a
// response delimited by it (a reset cuts it short instead); whatever else is
// in flight is lost. A response begun and not finished is also counted as
// truncated: a server that closes between responses loses requests, one
// that closes inside a response breaks one.
func (w *worker) eof(c *conn, clean bool) {
	if clean && c.head != c.sent && len(c.in) > 0 {
		if n, err := c.p.EOF(c.in, w.r.p.reqs[c.oldest].method); err == nil && n > 0 {
			if resp := c.p.Response(); !resp.Interim() {
				w.complete(c, resp)
				w.putBuf(c.in)
				c.in = nil
			}
		}
	}
	if c.head != c.sent && len(c.in) > 0 && c.times[c.head&uint64(len(c.times)-1)] >= w.winStart {
		w.ct.truncated++
	}
	w.drop(c, errRead)
}

// drop closes the connection, counts its requests in flight as lost (as
// errors of category cause), and queues it to reconnect. Requests due but
// not sent (open loop) stay, for the next connection.
func (w *worker) drop(c *conn, cause int) {
	mask := uint64(len(c.times) - 1)
	lost := 0
	for i := c.head; i != c.sent; i++ {
		if c.times[i&mask] >= w.winStart {
			w.ct.lost++
			w.countErr(cause)
			lost++
		}
	}
	if lost == 0 && cause == errParse && w.inWindow() {
		w.countErr(errParse) // a stream broken between requests still counts once
	}
	w.inflight -= int64(c.sent - c.head)
	c.head = c.sent
	c.oldest = c.next
	w.closeConn(c)
	if w.stopping {
		return
	}
	if c.answered > 0 {
		c.backoff = 0
		w.enqueue(c)
		return
	}
	// Closed before answering anything (a server refusing at accept, a
	// full server): reconnecting at once would only spin.
	c.backoff = min(max(2*c.backoff, backoffMin), backoffMax)
	c.retryAt = w.now + c.backoff
	c.state = csWaiting
}

// churn closes a connection that has sent its RequestsPerConn and had them
// all answered, and queues another in its place (as a browser or a short
// client would: accepting and closing is the load). Requests due but not
// sent (open loop) stay, for the next connection.
func (w *worker) churn(c *conn) {
	if w.inWindow() {
		w.ct.churned++
	}
	w.closeConn(c)
	if !w.stopping {
		c.backoff = 0
		w.enqueue(c)
	}
}

func (w *worker) closeConn(c *conn) {
	if c.state == csConnecting {
		w.connecting--
	}
	if c.fd >= 0 {
		w.closeFD(c)
	}
	if c.in != nil {
		w.putBuf(c.in)
		c.in = nil
	}
	c.out, c.outOff = nil, 0
	c.p.Reset()
	c.closeSent = false
	c.state = csIdle
}

// closeFD resets and closes the connection's descriptor (two syscalls,
// counted unless they are the run's own teardown).
func (w *worker) closeFD(c *conn) {
	resetClose(c.fd)
	c.fd = -1
	if w.inWindow() && !w.stopping {
		w.ct.sysClose += 2
	}
}

// inWindow reports whether the worker's clock is in the measured window:
// the events counted by when they happen (syscalls, bytes, reconnects,
// failed connects) count by the same rule as requests, which count by their
// send time, so that the two agree at the window's edges.
func (w *worker) inWindow() bool { return w.loading && w.now >= w.winStart }

func (w *worker) countErr(kind int) {
	w.ct.errs[kind]++
	w.secErrors++
}

// --- timeouts ----------------------------------------------------------------------

// scan walks the connections every scanEvery: connects and requests older
// than the timeout fail, backed-off connections are queued again, and (open
// loop) requests that waited longer than the timeout without being sent
// expire. A walk is cheaper than a timer per request, and the timeout is a
// bound, not a measurement.
func (w *worker) scan() {
	timeout := int64(w.r.p.cfg.Timeout)
	for i := range w.conns {
		c := &w.conns[i]
		switch c.state {
		case csConnecting:
			if w.now-c.since > timeout {
				w.connecting--
				c.state = csIdle
				w.connectFailed(c)
			}
		case csWaiting:
			if w.now >= c.retryAt {
				w.enqueue(c)
			}
		case csOpen:
			if c.head != c.sent && w.now-c.times[c.head&uint64(len(c.times)-1)] > timeout {
				w.drop(c, errTimeout)
			}
		}
		mask := uint64(len(c.times) - 1)
		for c.head == c.sent && c.sent != c.tail && w.now-c.times[c.sent&mask] > timeout {
			if c.times[c.sent&mask] >= w.winStart {
				w.ct.expired++
				w.countErr(errTimeout)
			}
			c.head++
			c.sent++
			w.owed--
		}
	}
}

// --- the end -------------------------------------------------------------------------

func (w *worker) finish() {
	if w.open && w.loading {
		w.catchUp()
	}
	if w.recording {
		u, s := threadCPU()
		w.cpu[0], w.cpu[1] = u-w.cpu0[0], s-w.cpu0[1]
		w.publishSecond()
	}
	for i := range w.conns {
		c := &w.conns[i]
		mask := uint64(len(c.times) - 1)
		for j := c.head; j != c.tail; j++ {
			if !w.loading || c.times[j&mask] < w.winStart {
				continue
			}
			if j < c.sent {
				w.ct.inFlight++
			} else {
				w.ct.waiting++
			}
		}
		w.closeConn(c)
	}
	if w.recording {
		w.r.tl.pass(w.id, w.sec+1)
	}
	w.closeFDs()
	w.progress.Store(w.ct.received + w.ct.lost + w.ct.expired)
}

// --- buffers ---------------------------------------------------------------------------

// getBuf returns an empty buffer of capacity n or more: a carry buffer, or
// the first pooled larger one that fits.
func (w *worker) getBuf(n int) []byte {
	if n <= carryBufSize {
		if k := len(w.bufs); k > 0 {
			b := w.bufs[k-1]
			w.bufs = w.bufs[:k-1]
			return b
		}
		return make([]byte, 0, carryBufSize)
	}
	for i, b := range w.big {
		if cap(b) >= n {
			last := len(w.big) - 1
			w.big[i], w.big[last] = w.big[last], nil
			w.big = w.big[:last]
			return b[:0]
		}
	}
	return make([]byte, 0, max(n, 2*carryBufSize))
}

func (w *worker) putBuf(b []byte) {
	switch {
	case cap(b) == carryBufSize:
		if len(w.bufs) < pooledBufs {
			w.bufs = append(w.bufs, b[:0])
		}
	case cap(b) > carryBufSize && len(w.big) < pooledBig:
		w.big = append(w.big, b[:0])
	}
}
