package epoll

import (
	"golang.org/x/sys/unix"

	"iolab/models"
)

// The loop's side of two things a Session may ask for besides bytes (see
// the models package): handler=offload, where a worker hands a connection
// back through the loop's inbox (woken by the loop's eventfd, as the
// acceptor's hand-over is), and zerocopy=on, where a response ends with a
// file segment that goes from the file to the socket with sendfile(2).

// token names a connection in a Resume, as the epoll data does: its
// generation and descriptor.
func token(c *conn) uint64 { return uint64(c.gen)<<32 | uint64(uint32(c.fd)) }

// takeResumes serves the connections workers have handed back.
func (l *loop) takeResumes() {
	for _, t := range l.resumes.Take() {
		fd, gen := int(uint32(t)), uint32(t>>32)
		if fd >= len(l.conns) {
			continue
		}
		if c := l.conns[fd]; c != nil && c.gen == gen && !c.lingering {
			l.c[models.Resumes]++
			l.resume(c)
		}
	}
}

// resume runs a connection's turn for a Resume: Serve again with what it
// kept, read if it may (a read it held back), write what came out.
func (l *loop) resume(c *conn) {
	l.serve(c, 0)
	if c.readable && !c.paused && !c.closing && !c.sess.Holding() {
		if !l.read(c) { // read ends with a flush
			return
		}
	} else if !l.flush(c) {
		return
	}
	l.settle(c)
}

// What afterOutput leaves flush to do.
const (
	outputDone   = iota // nothing more to write
	outputMore          // more output in c.out
	outputWait          // the socket is full: wait for EPOLLOUT
	outputClosed        // the connection failed and is closed
)

// afterOutput runs once a connection's output is written and its Session
// has more (Session.AfterOutput): it sends the file segment a response
// left, then serves what waits behind it (pipelined requests, an offloaded
// handler's output).
func (l *loop) afterOutput(c *conn) int {
	if c.file.Size == 0 {
		if f, ok := c.sess.PendingFile(); ok {
			c.file = f // sent from here, as far as the socket takes it each turn
		}
	}
	sending := c.file.Size > 0
	for c.file.Size > 0 {
		off := c.file.Off
		n, err := unix.Sendfile(c.fd, c.file.FD, &off, int(min(c.file.Size, 1<<30)))
		l.c[models.SysSendfile]++
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			l.c[models.WriteEAGAIN]++
			return outputWait
		case err != nil || n == 0:
			// The client is gone, or the file shrank under us: the
			// declared length cannot be met, so the connection ends.
			l.close(c)
			return outputClosed
		}
		l.c[models.BytesOut] += uint64(n)
		c.file.Off += int64(n)
		c.file.Size -= int64(n)
		c.lastActive = l.now
	}
	if sending {
		c.sess.FileSent()
	}
	c.out, c.outOff = c.out[:0], 0
	l.serve(c, 0)
	if c.readable && !c.paused && !c.closing && !c.sess.Holding() {
		l.queue(c) // input held back while the file went: read it next turn
	}
	if len(c.out) > 0 {
		return outputMore
	}
	return outputDone
}
