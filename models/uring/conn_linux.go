package uring

import (
	"bytes"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/http1"
	"iolab/models/uring/ring"
)

// conn is one connection's state. It belongs to its reactor.
type conn struct {
	fd   int // -1 once closed
	gen  uint32
	sess models.Session
	// fixed: the socket is also in slot fd of the ring's registered file
	// table, and sends name it there.
	fixed bool

	// in holds the bytes of an incomplete request, copied out of the
	// provided buffer they arrived in (which goes back to the kernel at
	// once). It is on the Go heap: the kernel never sees it.
	in []byte
	// out accumulates the responses of this pass; snd is the buffer of
	// the send in flight (snd[sndOff:] not yet sent). Both come from the
	// reactor's mapped pool, unless Serve outgrew one onto the heap; a heap
	// buffer is pinned while the kernel reads it.
	out, snd             []byte
	outMapped, sndMapped bool
	sndOff               int
	pin                  runtime.Pinner
	// inGrew and outGrew are the capacities the last input (past 4 KiB)
	// and output (past send_buffer, onto the heap) buffers grew to, 0 if
	// they did not: the next turn asks the reactor's models.Grown for as
	// much instead of growing again.
	inGrew, outGrew int

	lastActive, headStart int64
	due, timerAt          int64
	timerSet              bool

	recvArmed  bool // a multishot recv is in flight
	sending    bool // a send is in flight
	dirty      bool // on the reactor's dirty list
	paused     bool // receive cancelled: output above the high-water mark
	closing    bool // close once the output is sent
	peerClosed bool // the client shut its side
	lingering  bool // our write side is shut; input is dropped until EOF
	shut       bool // shut down both ways; closed once nothing is in flight
	held       bool // receive cancelled: the Session holds input behind a request in flight

	// zerocopy=on: the rest of a file segment, spliced through a pipe
	// (offload_linux.go); sending is set while a splice is in flight.
	file      http1.FileSegment
	pipe      [2]int
	piped     bool // pipe is this connection's
	inPipe    int  // bytes in the pipe, not yet spliced to the socket
	spliceOut bool // the splice in flight moves pipe to socket
}

// headTimed reports whether the connection's deadline is its request
// head's: it holds the start of a head and is reading the rest. One paused
// by back-pressure or closing is not reading: its head waits on the server,
// not on a slow client, and the idle deadline (which every send moves)
// applies instead, so a client that takes its responses slowly is not cut
// off mid-response by the header timeout.
func (c *conn) headTimed() bool {
	return len(c.in) > 0 && c.sess.InHead() && !c.paused && !c.closing
}

// wantsRecv reports whether the connection should have a receive armed.
func (c *conn) wantsRecv() bool {
	return !c.recvArmed && !c.shut && !c.paused && !c.peerClosed && !c.held
}

func (r *reactor) newConn(fd int) *conn {
	var c *conn
	if n := len(r.free); n > 0 {
		c = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		c = new(conn)
	}
	r.gen++
	sess, in := c.sess, c.in[:0] // keep the parser's and the input's memory
	*c = conn{fd: fd, gen: r.gen & 0xffffff, sess: sess, in: in}
	c.sess.Init(&r.s.cfg, &r.c)
	c.sess.Bind(&r.resumes, token(c))
	for fd >= len(r.conns) {
		r.conns = append(r.conns, make([]*conn, max(64, len(r.conns)))...)
	}
	r.conns[fd] = c
	r.open++
	return c
}

// armRecv arms the connection's multishot receive on the reactor's buffer
// group.
func (r *reactor) armRecv(c *conn) {
	sqe := r.getSQE()
	sqe.PrepRecvMultishot(c.fd, 0)
	sqe.SetBufferSelect(r.br.Group())
	sqe.SetData64(pack(opRecv, c.gen, c.fd))
	c.recvArmed = true
}

func (r *reactor) recycle(bid uint16) {
	size := r.s.opts.bufSize
	r.br.Add(unsafe.Pointer(&r.bufs[int(bid)*size]), uint32(size), bid, r.recycled)
	r.recycled++
}

func (r *reactor) onRecv(c *conn, cqe *ring.CQE) {
	more := cqe.Flags&ring.CQEFMore != 0
	if !more {
		c.recvArmed = false
	}
	switch res := cqe.Res; {
	case res > 0:
		bid := cqe.BufferID()
		size := r.s.opts.bufSize
		data := r.bufs[int(bid)*size : int(bid)*size+int(res)]
		r.c[models.BytesIn] += uint64(res)
		switch {
		case c.lingering || c.shut || c.closing:
		case c.paused:
			// Received before the back-pressure cancel took effect:
			// kept unparsed until the output drains (unpause), so that
			// what is queued stays near write_high_water.
			r.keep(c, data)
		default:
			r.consume(c, data)
		}
		r.recycle(bid) // parsed: the kernel may have it back
		if !more && c.wantsRecv() {
			r.starved = append(r.starved, ref{c, c.gen})
		}
	case res == 0:
		c.peerClosed = true // end of stream: no more CQEs from this receive
		if c.lingering {
			r.close(c)
		}
	case res == -int32(unix.ENOBUFS):
		// The buffer ring ran dry: the receive has ended. Buffers go back
		// at the end of this pass; arm it again then. Nothing is lost: the
		// data waits in the socket.
		r.c[models.BufExhausted]++
		if c.wantsRecv() {
			r.starved = append(r.starved, ref{c, c.gen})
		}
	case res == -int32(unix.ECANCELED):
		// Cancelled by us, for back-pressure, a held Session or to close.
		// If the reason passed before this completion came (the output
		// drained in the same pass), unpause found the receive still armed
		// and armed none: arm it now, or the connection would read nothing
		// more (nor see its client go) until it timed out.
		if c.wantsRecv() {
			r.starved = append(r.starved, ref{c, c.gen})
		}
	default:
		r.close(c) // reset, or worse
	}
	r.settle(c)
}

// consume parses what arrived and answers every complete request, straight
// from the provided buffer wherever it can. Only a request split between two
// buffers is copied: its first part waits in c.in, and the next buffer lends
// it just enough to end its head (up to its blank line), so a pipelined
// batch that spans buffers copies one request at each buffer's end, not the
// buffers. Appending each later buffer to c.in whole would copy most of a
// deep batch, and grow c.in past what settle lets a connection keep, so that
// every such batch allocated.
func (r *reactor) consume(c *conn, data []byte) {
	if c.out == nil {
		c.out, c.outMapped = r.getOut(c.outGrew)
	}
	if len(data) == 0 {
		r.serveKept(c) // a Resume: what was kept, or only the output of the request that finished
	}
	for len(data) > 0 {
		if len(c.in) == 0 {
			if used := r.serve(c, data); used < len(data) {
				r.keep(c, data[used:])
				c.headStart = r.now // a new request has begun; its head is timed
			}
			break
		}
		// A body, or input held behind a request in flight, takes the
		// whole buffer, as does a head whose end is not in it.
		lend := len(data)
		if c.sess.InHead() {
			if n := headEnd(c.in, data); n > 0 {
				lend = n
			}
		}
		r.keep(c, data[:lend])
		data = data[lend:]
		r.serveKept(c)
		if c.closing || c.sess.Holding() {
			r.keep(c, data) // kept as Serve left it: for after the Resume, or dropped
			break
		}
	}
	c.lastActive = r.now
	if len(c.out) > 0 && !c.dirty {
		c.dirty = true
		r.dirty = append(r.dirty, ref{c, c.gen})
	}
	if pending := len(c.out) + len(c.snd) - c.sndOff; pending >= r.s.opts.highWater && !c.paused {
		// Back-pressure: stop receiving until the output drains (also
		// when no receive is armed, as after a Resume, so none is armed
		// until then).
		c.paused = true
		r.c[models.Pauses]++
		if c.recvArmed {
			sqe := r.getSQE()
			sqe.PrepCancel64(pack(opRecv, c.gen, c.fd), 0)
			sqe.SetData64(pack(opCancel, 0, 0))
		}
	}
	if c.sess.Holding() && !c.held {
		r.hold(c)
	}
}

// serve runs the Session over in, appending to c.out, and reports how many
// bytes of in it used.
func (r *reactor) serve(c *conn, in []byte) int {
	used, out, closing := c.sess.Serve(in, c.out)
	if c.outMapped && unsafe.SliceData(out) != unsafe.SliceData(c.out) {
		r.putOut(c.out, true) // Serve outgrew the mapped buffer onto the heap
		c.outMapped = false
	}
	c.out = out
	if closing {
		c.closing = true
	}
	return used
}

// keep appends b to the bytes kept in c.in, starting in a buffer as large
// as the connection's last one grew to, if the reactor kept one.
func (r *reactor) keep(c *conn, b []byte) {
	if c.in == nil && c.inGrew > 0 {
		c.in = r.grown.Get(c.inGrew)
	}
	c.in = append(c.in, b...)
}

// serveKept runs the Session over the bytes kept in c.in and keeps what
// it leaves.
func (r *reactor) serveKept(c *conn) {
	used := r.serve(c, c.in)
	c.in = models.Compact(c.in, used)
	if len(c.in) > 0 && used > 0 {
		c.headStart = r.now // a new request has begun; its head is timed
	}
}

var blankLine = []byte("\r\n\r\n")

// headEnd returns how many bytes of data complete the first blank line
// ("\r\n\r\n", the end of a head) that ends in data, counting one that began
// in the last bytes of in; 0 if none does.
func headEnd(in, data []byte) int {
	for k := 3; k >= 1; k-- { // k bytes of the blank line at the end of in
		if len(in) >= k && len(data) >= 4-k &&
			string(in[len(in)-k:]) == string(blankLine[:k]) && string(data[:4-k]) == string(blankLine[k:]) {
			return 4 - k
		}
	}
	if i := bytes.Index(data, blankLine); i >= 0 {
		return i + len(blankLine)
	}
	return 0
}

// send starts sending the output of this pass, unless a send is in flight
// (then it goes when that one completes): one send in flight per
// connection keeps responses in order.
func (r *reactor) send(c *conn) {
	if c.sending || len(c.out) == 0 || c.shut {
		return
	}
	c.snd, c.sndMapped, c.sndOff = c.out, c.outMapped, 0
	c.out, c.outMapped = nil, false
	if !c.sndMapped {
		c.pin.Pin(&c.snd[0]) // a heap buffer must stay put until the CQE
	}
	r.submitSend(c)
}

func (r *reactor) submitSend(c *conn) {
	sqe := r.getSQE()
	sqe.PrepSend(c.fd, unsafe.Pointer(&c.snd[c.sndOff]), len(c.snd)-c.sndOff, unix.MSG_NOSIGNAL)
	if c.fixed {
		sqe.Flags |= ring.SQEFixedFile // c.fd is the slot
	}
	sqe.SetData64(pack(opSend, c.gen, c.fd))
	c.sending = true
}

func (r *reactor) onSend(c *conn, cqe *ring.CQE) {
	c.sending = false
	if cqe.Res < 0 {
		r.releaseSnd(c)
		r.close(c) // EPIPE, ECONNRESET: the client is gone
		r.settle(c)
		return
	}
	r.c[models.BytesOut] += uint64(cqe.Res)
	c.lastActive = r.now
	if c.sndOff += int(cqe.Res); c.sndOff < len(c.snd) {
		r.c[models.PartialWrites]++
		r.submitSend(c) // the rest, still one send in flight
		return
	}
	r.releaseSnd(c)
	switch {
	case len(c.out) > 0:
		r.send(c)
	case c.sess.AfterOutput():
		r.afterOutput(c) // a file to splice, or an offloaded handler's output
	case c.closing:
		r.startLinger(c)
	}
	r.settle(c)
}

func (r *reactor) releaseSnd(c *conn) {
	if c.snd == nil {
		return
	}
	c.outGrew = 0
	if !c.sndMapped {
		c.pin.Unpin()
		c.outGrew = cap(c.snd)
	}
	r.putOut(c.snd, c.sndMapped)
	c.snd, c.sndMapped, c.sndOff = nil, false, 0
}

// settle ends a connection's turn: close it when the client has gone and
// nothing is owed, give idle buffers back, set its deadline.
func (r *reactor) settle(c *conn) {
	if c.fd < 0 {
		return
	}
	if c.shut {
		r.finish(c)
		return
	}
	if c.paused && !c.closing && !c.sending && len(c.out) == 0 {
		r.unpause(c) // (a closing one stays paused until it lingers)
	}
	pending := c.sending || len(c.out) > 0
	if c.peerClosed && !pending {
		r.close(c)
		r.finish(c)
		return
	}
	if !pending && c.out != nil {
		r.putOut(c.out, c.outMapped)
		c.out, c.outMapped = nil, false
	}
	if len(c.in) == 0 && cap(c.in) > 4096 {
		// An idle connection keeps no large input buffer; the reactor
		// keeps it for the next turn that needs one.
		c.inGrew = cap(c.in)
		r.grown.Put(c.in)
		c.in = nil
	}
	r.setDue(c, r.dueAt(c))
}

// dueAt returns when the connection's deadline falls, by its state now: its
// linger's end, its head's header_timeout, or idle_timeout after its last
// progress (which a partial send moves without a settle).
func (r *reactor) dueAt(c *conn) int64 {
	switch {
	case c.lingering:
		return c.due
	case c.headTimed():
		return c.headStart + int64(r.s.cfg.HeaderTimeout)
	}
	return c.lastActive + int64(r.s.cfg.IdleTimeout)
}

// unpause ends back-pressure once the output has drained, on whichever path
// it drained (a send, a file's splice, an offloaded handler's turn): it
// serves what arrived while the receive was being cancelled, which may
// pause it again, and arms the receive.
func (r *reactor) unpause(c *conn) {
	c.paused = false
	c.headStart = r.now // a head kept while paused is timed from now
	if len(c.in) > 0 {
		r.consume(c, nil)
	}
	if c.wantsRecv() {
		r.c[models.Rearms]++
		r.armRecv(c)
	}
}

// startLinger begins closing after the last response: the write side is
// shut (the client reads the response, then end of stream), and the receive
// stays armed to read and drop what the client still sends, until it closes
// or lingerTime passes; closing with unread input would send a reset, which
// can destroy the response before the client reads it.
func (r *reactor) startLinger(c *conn) {
	r.c[models.SysShutdown]++
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		r.close(c)
		return
	}
	c.lingering, c.closing, c.paused = true, false, false
	c.in = c.in[:0]
	if c.peerClosed {
		r.close(c)
		return
	}
	if c.wantsRecv() {
		r.armRecv(c)
	}
	c.due = r.now + lingerTime
	r.setDue(c, c.due)
}

// close shuts the socket both ways, which ends its multishot receive (the
// ring holds its own reference to the socket, so closing the descriptor
// alone would not), and frees the connection once nothing is in flight.
func (r *reactor) close(c *conn) {
	if c.shut || c.fd < 0 {
		return
	}
	c.shut = true
	r.c[models.SysShutdown]++
	unix.Shutdown(c.fd, unix.SHUT_RDWR)
	r.finish(c)
}

func (r *reactor) finish(c *conn) {
	if c.fd < 0 || !c.shut || c.recvArmed || c.sending {
		return
	}
	if c.fixed {
		r.unfix(c)
	}
	unix.Close(c.fd)
	r.c[models.SysClose]++
	r.c[models.Closed]++
	r.conns[c.fd] = nil
	c.fd = -1
	if c.out != nil {
		r.putOut(c.out, c.outMapped)
		c.out, c.outMapped = nil, false
	}
	r.releaseSnd(c)
	c.sess.Abort()
	r.dropPipe(c)
	if cap(c.in) > 4096 {
		c.in = nil
	}
	c.inGrew, c.outGrew = 0, 0 // the next connection in this state starts small
	r.open--
	r.s.open.Add(-1)
	r.load.Add(-1)
	r.free = append(r.free, c)
	if r.acceptPause != 0 {
		r.acceptPause = r.now // a descriptor is free: accept again now
	}
	if a := r.s.acceptor; a != nil && a.paused.Load() {
		signal(a.efd)
	}
}
