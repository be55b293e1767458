package uring

import (
	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/uring/ring"
)

// The reactor's side of two things a Session may ask for besides bytes
// (see the models package): handler=offload, where a worker hands a
// connection back through the reactor's inbox, woken by the reactor's own
// armed eventfd read (a worker has no ring to send IORING_OP_MSG_RING
// from), and zerocopy=on, where a response ends with a file segment that is
// spliced from the file into a pipe and from the pipe into the socket
// (IORING_OP_SPLICE), the bytes never copied into a buffer of ours.

// token names a connection in a Resume: its generation and descriptor.
func token(c *conn) uint64 { return uint64(c.gen)<<32 | uint64(uint32(c.fd)) }

// takeResumes serves the connections workers have handed back.
func (r *reactor) takeResumes() {
	for _, t := range r.resumes.Take() {
		if c := r.lookup(int(uint32(t)), uint32(t>>32)); c != nil && !c.lingering && !c.shut {
			r.c[models.Resumes]++
			r.resume(c)
		}
	}
}

// resume runs a connection's turn for a Resume: Serve again with what it
// kept (the output goes at the end of the pass), and receive again if the
// Session no longer holds its input.
func (r *reactor) resume(c *conn) {
	r.consume(c, nil)
	if c.held && !c.sess.Holding() {
		c.held = false
		if c.wantsRecv() {
			r.c[models.Rearms]++
			r.armRecv(c)
		}
	}
	r.endIfClosing(c)
	r.settle(c)
}

// hold stops receiving while the Session holds input behind a request in
// flight; resume arms the receive again.
func (r *reactor) hold(c *conn) {
	c.held = true
	if c.recvArmed {
		sqe := r.getSQE()
		sqe.PrepCancel64(pack(opRecv, c.gen, c.fd), 0)
		sqe.SetData64(pack(opCancel, 0, 0))
	}
}

// endIfClosing begins the close of a connection whose Session closed with
// nothing left to send (the response before went out first).
func (r *reactor) endIfClosing(c *conn) {
	if c.closing && !c.sending && len(c.out) == 0 && c.fd >= 0 && !c.lingering && !c.shut {
		r.startLinger(c)
	}
}

// afterOutput runs once a connection's output is sent and its Session has
// more (Session.AfterOutput): the file segment a response left, spliced;
// then what waits behind it.
func (r *reactor) afterOutput(c *conn) {
	if c.file.Size == 0 {
		if f, ok := c.sess.PendingFile(); ok {
			c.file = f
		}
	}
	if c.file.Size > 0 {
		if !c.piped && !r.takePipe(c) {
			r.close(c)
			return
		}
		r.splice(c)
		return
	}
	r.consume(c, nil)
	r.endIfClosing(c)
}

// pipeSize is what a pipe is asked to hold (F_SETPIPE_SZ; at most
// fs.pipe-max-size, 1 MiB by default): one splice moves that much.
const pipeSize = 1 << 20

// takePipe gives the connection an empty pipe, from the reactor's free ones
// or a new one.
func (r *reactor) takePipe(c *conn) bool {
	if n := len(r.pipes); n > 0 {
		c.pipe, r.pipes = r.pipes[n-1], r.pipes[:n-1]
		c.piped = true
		return true
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return false // out of descriptors: the connection ends
	}
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, pipeSize) // a smaller pipe still works
	c.pipe, c.piped = p, true
	return true
}

// dropPipe gives a connection's pipe back, or closes it when bytes are
// still in it (the connection ended mid-file).
func (r *reactor) dropPipe(c *conn) {
	if !c.piped {
		return
	}
	if c.inPipe == 0 && len(r.pipes) < pooledOut {
		r.pipes = append(r.pipes, c.pipe)
	} else {
		unix.Close(c.pipe[0])
		unix.Close(c.pipe[1])
	}
	c.piped, c.inPipe = false, 0
}

// closePipes closes the free pipes, when the reactor exits.
func (r *reactor) closePipes() {
	for _, p := range r.pipes {
		unix.Close(p[0])
		unix.Close(p[1])
	}
	r.pipes = nil
}

// splice submits the next step of a file segment: the pipe to the socket
// while it holds bytes, else the file to the pipe. One is in flight at a
// time, and it counts as the connection's send.
func (r *reactor) splice(c *conn) {
	sqe := r.getSQE()
	const none = ^uint64(0)
	if c.spliceOut = c.inPipe > 0; c.spliceOut {
		sqe.PrepSplice(c.pipe[0], none, c.fd, none, uint32(c.inPipe), unix.SPLICE_F_MOVE)
	} else {
		sqe.PrepSplice(c.file.FD, uint64(c.file.Off), c.pipe[1], none, uint32(min(c.file.Size, pipeSize)), unix.SPLICE_F_MOVE)
	}
	sqe.SetData64(pack(opSplice, c.gen, c.fd))
	c.sending = true
	r.c[models.Splices]++
}

func (r *reactor) onSplice(c *conn, cqe *ring.CQE) {
	c.sending = false
	switch res := int(cqe.Res); {
	case res <= 0 || c.shut:
		// The client is gone, or the file shrank under us (0 from the
		// file): the declared length cannot be met, so the connection ends.
		r.close(c)
	case c.spliceOut:
		r.c[models.BytesOut] += uint64(res)
		c.lastActive = r.now
		c.inPipe -= res
		if c.inPipe > 0 || c.file.Size > 0 {
			r.splice(c)
			break
		}
		r.dropPipe(c)
		c.sess.FileSent()
		r.consume(c, nil) // what waits behind the file
		r.endIfClosing(c)
	default:
		c.inPipe = res
		c.file.Off += int64(res)
		c.file.Size -= int64(res)
		r.splice(c)
	}
	r.settle(c)
}
