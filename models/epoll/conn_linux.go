package epoll

import (
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/http1"
)

// conn is one connection's state. It belongs to its loop.
type conn struct {
	fd   int // -1 once closed
	gen  uint32
	mask uint32 // the events registered
	sess models.Session

	in     []byte // unparsed input; nil while idle
	out    []byte // output; out[outOff:] is not written yet; nil while idle
	outOff int
	// inGrew and outGrew are the capacities the last buffers grew to past
	// read_buffer (0 if they did not): the next turn asks the loop's
	// models.Grown for as much instead of growing again.
	inGrew, outGrew int
	file            http1.FileSegment // zerocopy=on: the rest of a file to send after out

	lastActive int64 // last read or write progress (loop clock)
	headStart  int64 // first byte of the incomplete head in `in`
	due        int64 // current deadline
	timerAt    int64 // due time of the live heap entry
	timerSet   bool

	readable   bool // input may be waiting (edge-triggered: no new edge will say so)
	hangup     bool // epoll said the peer closed or failed: read on to see it
	queued     bool // in the loop's ready queue
	paused     bool // not reading: output above the high-water mark
	closing    bool // close once the output is written
	peerClosed bool // the client shut its side: read returned 0
	lingering  bool // write side shut, input read and dropped until EOF
}

func (l *loop) newConn(fd int) *conn {
	var c *conn
	if n := len(l.free); n > 0 {
		c = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		c = new(conn)
	}
	l.gen++
	sess := c.sess // keep the parser's memory
	*c = conn{fd: fd, gen: l.gen, sess: sess}
	c.sess.Init(&l.s.cfg, &l.c)
	c.sess.Bind(&l.resumes, token(c))
	for fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*conn, max(64, len(l.conns)))...)
	}
	l.conns[fd] = c
	l.open++
	return c
}

// onEvent runs a connection's turn: write what is pending if it can, read
// and answer what has arrived, write the answers.
func (l *loop) onEvent(c *conn, events uint32) {
	if c.lingering {
		l.linger(c)
		return
	}
	if events&unix.EPOLLOUT != 0 && (c.outOff < len(c.out) || c.file.Size > 0) {
		if !l.flush(c) {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.readable = true
	}
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.hangup = true
	}
	if c.readable && !c.paused && !c.closing && !c.sess.Holding() {
		if !l.read(c) {
			return
		}
	}
	l.settle(c)
}

// read reads until the socket is drained (edge) or once (level), answering
// after each read, then writes everything answered in one write. It reports
// whether the connection is still in its normal state.
//
// Edge-triggered, "drained" is a read shorter than the room it was given:
// a stream socket returns less than asked only when it has no more queued
// (epoll(7): "the condition that the read/write I/O space is exhausted can
// also be detected by checking the amount of data read"), and bytes that
// arrive later raise a new edge. That saves the read that would only say
// EAGAIN: with pipelining, one of the two or three syscalls a batch costs.
// A hang-up epoll reported is the exception: the end of stream behind the
// data is only seen by reading on. read_until=eagain keeps the textbook
// loop, for comparison.
func (l *loop) read(c *conn) bool {
	for budget := readBudget; ; budget-- {
		if budget == 0 {
			l.queue(c) // more to read: after the others have had a turn
			break
		}
		if c.in == nil {
			c.in = l.getBuf(c.inGrew)
		}
		c.in = c.sess.ReadRoom(c.in, l.s.readSize)
		room := cap(c.in) - len(c.in)
		n, err := read(c.fd, c.in[len(c.in):cap(c.in)])
		l.c[models.SysRead]++
		if err != 0 {
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				l.c[models.ReadEAGAIN]++
				c.readable = false
				break
			}
			l.close(c) // reset, or worse: nothing to say to this peer
			return false
		}
		if n == 0 {
			c.peerClosed, c.readable = true, false
			break
		}
		l.c[models.BytesIn] += uint64(n)
		c.in = c.in[:len(c.in)+n]
		l.serve(c, n)
		if c.closing {
			c.readable = false // the rest would never be answered
			break
		}
		if c.paused {
			break // back-pressure: read again once the output drains
		}
		if c.sess.Holding() {
			break // a request is in flight with enough behind it: until its Resume
		}
		if !l.edge || l.s.untilShort && n < room && !c.hangup {
			// Level-triggered: epoll will say if there is more. Edge-
			// triggered after a short read: drained, and a new edge
			// will say when more arrives.
			c.readable = false
			break
		}
	}
	return l.flush(c)
}

// serve answers every complete request in c.in; n bytes were just read.
func (l *loop) serve(c *conn, n int) {
	had := len(c.in)
	if c.out == nil {
		c.out = l.getBuf(c.outGrew)
	}
	used, out, closing := c.sess.Serve(c.in, c.out)
	c.out = out
	c.in = models.Compact(c.in, used)
	rest := len(c.in)
	c.lastActive = l.now
	if rest > 0 && (used > 0 || had == n) {
		c.headStart = l.now // a new request has begun; its head is timed
	}
	if closing {
		c.closing = true
	}
	if len(c.out)-c.outOff >= l.s.highWater && !c.paused {
		// Back-pressure: read no more until this drains (flush). Set
		// here, where output is made, so that a Resume's or a file's
		// turn pauses as a read does.
		c.paused = true
		l.c[models.Pauses]++
	}
}

// flush writes the pending output. A partial write keeps the rest for the
// next EPOLLOUT. When everything is written it releases back-pressure, or
// begins the close a response asked for. It reports whether the connection
// is still in its normal state.
func (l *loop) flush(c *conn) bool {
more:
	for c.outOff < len(c.out) {
		n, err := write(c.fd, c.out[c.outOff:])
		l.c[models.SysWrite]++
		if err != 0 {
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				l.c[models.WriteEAGAIN]++
				return true // wait for EPOLLOUT
			}
			l.close(c)
			return false
		}
		if n < len(c.out)-c.outOff {
			l.c[models.PartialWrites]++
		}
		l.c[models.BytesOut] += uint64(n)
		c.outOff += n
		c.lastActive = l.now
	}
	if c.file.Size > 0 || c.sess.AfterOutput() {
		switch l.afterOutput(c) { // a file to send, or an offloaded handler's output
		case outputMore:
			goto more
		case outputWait:
			return true
		case outputClosed:
			return false
		}
	}
	c.out, c.outOff = c.out[:0], 0
	if c.closing {
		l.startLinger(c)
		return false
	}
	if c.paused {
		c.paused = false
		c.headStart = l.now // a head kept while paused is timed from now
		if c.readable {
			l.queue(c)
		}
	}
	return true
}

// headTimed reports whether the connection's deadline is its request
// head's: it holds the start of a head and is reading the rest. One paused
// by back-pressure or closing is not reading: its head waits on the server,
// not on a slow client, and the idle deadline (which every write moves)
// applies instead, so a client that takes its responses slowly is not cut
// off mid-response by the header timeout.
func (c *conn) headTimed() bool {
	return len(c.in) > 0 && c.sess.InHead() && !c.paused && !c.closing
}

// settle ends a connection's turn: close it if the client has gone and
// nothing is owed, give idle buffers back, set its deadline, and (level-
// triggered) register the events its state needs.
func (l *loop) settle(c *conn) {
	pending := c.outOff < len(c.out) || c.file.Size > 0
	if c.peerClosed && !pending {
		l.close(c)
		return
	}
	if len(c.in) == 0 && !pending {
		l.releaseBufs(c)
	}
	l.setDue(c, l.dueAt(c))
	l.rearm(c)
}

// rearm registers, for a level-triggered connection, exactly the events its
// state can use: input unless paused, output while some is pending.
// (Edge-triggered connections never change their registration.)
func (l *loop) rearm(c *conn) {
	if l.edge {
		return
	}
	var m uint32
	if !c.paused || c.lingering {
		m |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if c.outOff < len(c.out) || c.file.Size > 0 {
		m |= unix.EPOLLOUT
	}
	if m != c.mask {
		c.mask = m
		if err := l.ctl(unix.EPOLL_CTL_MOD, c.fd, m, c.gen); err != nil {
			l.close(c)
		}
	}
}

// startLinger begins closing after the last response. Closing a socket with
// unread input makes the kernel send a reset, and a reset discards whatever
// output it has not delivered yet: so the write side is shut first (the
// client reads the response, then end of stream), and the loop reads and
// drops what the client still sends until it closes or lingerTime passes.
func (l *loop) startLinger(c *conn) {
	l.c[models.SysShutdown]++
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		l.close(c)
		return
	}
	c.lingering, c.closing, c.paused = true, false, false
	l.releaseBufs(c)
	c.out, c.outOff = nil, 0
	l.setDue(c, l.now+lingerTime)
	l.rearm(c)
	l.linger(c)
}

func (l *loop) linger(c *conn) {
	for budget := readBudget; budget > 0; budget-- {
		n, err := read(c.fd, l.scratch)
		l.c[models.SysRead]++
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			l.c[models.ReadEAGAIN]++
			return
		case err != 0 || n == 0:
			l.close(c)
			return
		}
		l.c[models.BytesIn] += uint64(n)
		if !l.edge {
			return
		}
	}
	l.queue(c)
}

func (l *loop) releaseBufs(c *conn) {
	if c.in != nil {
		c.inGrew = l.putBuf(c.in)
		c.in = nil
	}
	if c.out != nil {
		c.outGrew = l.putBuf(c.out)
		c.out, c.outOff = nil, 0
	}
}

// close closes the descriptor (which also removes it from the epoll set) and
// recycles the state.
func (l *loop) close(c *conn) {
	if c.fd < 0 {
		return
	}
	unix.Close(c.fd)
	l.c[models.SysClose]++
	l.c[models.Closed]++
	l.conns[c.fd] = nil
	c.fd = -1
	c.sess.Abort()
	c.file = http1.FileSegment{}
	l.releaseBufs(c)
	c.inGrew, c.outGrew = 0, 0 // the next connection in this state starts small
	l.open--
	l.s.open.Add(-1)
	l.load.Add(-1)
	l.free = append(l.free, c)
	if l.acceptPause != 0 {
		l.acceptPause, l.lnReady = 0, true // a descriptor is free: try again
	}
	if a := l.s.acceptor; a != nil && a.paused.Load() {
		a.wake()
	}
}
