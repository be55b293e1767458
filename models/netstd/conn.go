package netstd

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"iolab/models"
)

// conn is one connection and the goroutine that serves it.
type conn struct {
	s     *Server
	tc    *net.TCPConn
	rc    syscall.RawConn
	sess  models.Session
	c     models.Counters
	shard int

	in  *buffer // unparsed input; nil while the connection is idle
	out *buffer // responses of the current batch; nil while idle

	// Results of the RawConn callbacks, which are bound once (method values
	// allocate).
	onReadable, onWritable func(fd uintptr) bool
	nread                  int
	rerr, werr             error
	pending                []byte

	wake chan struct{} // handler=offload: a worker has something for this connection

	lastActive    time.Time // last time bytes arrived
	headStart     time.Time // first byte of the incomplete head in `in`
	readDeadline  time.Time // as last set
	writeDeadline time.Time
}

func (s *Server) newConn(tc *net.TCPConn) *conn {
	c := &conn{s: s, tc: tc, shard: int(s.shard.Add(1)), lastActive: time.Now()}
	c.rc, _ = tc.SyscallConn() // cannot fail on an open *TCPConn
	c.sess.Init(&s.cfg, &c.c)
	if s.cfg.Offload != nil {
		c.wake = make(chan struct{}, 1)
		c.sess.Bind(c, 0)
	}
	c.onReadable = c.readable
	c.onWritable = c.writable
	return c
}

// serve reads, answers every complete request, writes the batch once, and
// loops until the connection closes.
func (c *conn) serve() {
	graceful := false
	defer func() { c.close(graceful) }()
	for {
		if !c.armReadDeadline() {
			graceful = true // stopping: the last batch may still be in flight
			return
		}
		err := c.read()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if c.s.stopping.Load() {
					graceful = true
					return
				}
				if !c.timedOut() {
					continue // a lazily armed deadline fired early: re-arm it
				}
			}
			return // EOF, reset, or a timeout while nothing was owed
		}
		if c.s.stopping.Load() {
			c.sess.Drain() // answer what is here, saying we close
		}
		had := len(c.in.b)
		if c.out == nil {
			c.out = c.s.getBuf()
		}
		used, out, closing := c.sess.Serve(c.in.b, c.out.b[:0])
		c.out.b = out
		if len(out) > 0 {
			if err := c.write(out); err != nil {
				return
			}
		}
		c.in.b = models.Compact(c.in.b, used)
		if !closing && (c.sess.AfterOutput() || c.sess.Working() || c.sess.Holding()) {
			if closing, err = c.settleSession(); err != nil {
				return
			}
		}
		rest := len(c.in.b)
		now := time.Now()
		c.lastActive = now
		if rest > 0 && (used > 0 || had == c.nread) {
			// The bytes left over begin a request: one that follows a
			// request just answered, or the first bytes after an empty
			// buffer. Its head must complete within header_timeout.
			c.headStart = now
		}
		c.s.publish(&c.c, c.shard)
		if closing {
			graceful = true
			return
		}
	}
}

// armReadDeadline sets the read deadline the connection's state calls for:
// header_timeout from the first byte of an incomplete head, else idle_timeout
// from the last activity. An idle deadline is only moved when it has fallen
// behind by an eighth of the timeout; timedOut checks the truth when it fires.
// It reports false when the server is stopping.
func (c *conn) armReadDeadline() bool {
	var want time.Time
	lazy := true
	if c.in != nil && len(c.in.b) > 0 && c.sess.InHead() {
		want, lazy = c.headStart.Add(c.s.cfg.HeaderTimeout), false
	} else {
		want = c.lastActive.Add(c.s.cfg.IdleTimeout)
	}
	if want.Before(c.readDeadline) || !lazy && !want.Equal(c.readDeadline) ||
		want.Sub(c.readDeadline) > c.s.cfg.IdleTimeout/8 {
		c.tc.SetReadDeadline(want)
		c.readDeadline = want
	}
	// Checked after arming: Stop sets the flag before it resets deadlines,
	// so either we see the flag or our deadline is the one Stop overwrote.
	return !c.s.stopping.Load()
}

// timedOut decides, when a read deadline fires, whether a timeout really
// expired, and counts it.
func (c *conn) timedOut() bool {
	now := time.Now()
	if c.in != nil && len(c.in.b) > 0 && c.sess.InHead() {
		if !now.Before(c.headStart.Add(c.s.cfg.HeaderTimeout)) {
			c.c[models.HeaderTimeouts]++
			return true
		}
		return false
	}
	if !now.Before(c.lastActive.Add(c.s.cfg.IdleTimeout)) {
		c.c[models.IdleTimeouts]++
		return true
	}
	return false
}

// read reads what the socket has into c.in, parking the goroutine until it
// is readable if need be.
func (c *conn) read() error {
	c.nread, c.rerr = 0, nil
	if err := c.rc.Read(c.onReadable); err != nil {
		return err
	}
	if c.rerr != nil {
		return c.rerr
	}
	if c.nread == 0 {
		return errEOF
	}
	return nil
}

var errEOF = errors.New("netstd: peer closed")

// readable is the RawConn read callback: it returns false to park until the
// socket is readable. Before parking an idle connection gives its buffers
// back, which is how 10,000 idle connections hold no read buffers.
func (c *conn) readable(fd uintptr) bool {
	if c.in == nil {
		c.in = c.s.getBuf()
	}
	c.in.b = c.sess.ReadRoom(c.in.b, c.s.readSize)
	b := c.in.b
	for {
		n, err := syscall.Read(int(fd), b[len(b):cap(b)])
		c.c[models.SysRead]++
		switch err {
		case nil:
			c.in.b = b[:len(b)+n]
			c.nread = n
			c.c[models.BytesIn] += uint64(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			c.c[models.ReadEAGAIN]++
			if len(b) == 0 {
				c.releaseBuffers()
			}
			return false
		default:
			c.rerr = err
			return true
		}
	}
}

// write writes b, parking until the socket is writable as often as needed.
// While it parks the connection reads nothing: that is the back-pressure.
// A client that reads nothing for about idle_timeout is cut off; one that
// takes a large response slowly is not, as each wake that writes some moves
// the deadline (writable).
func (c *conn) write(b []byte) error {
	c.armWriteDeadline()
	c.pending, c.werr = b, nil
	if err := c.rc.Write(c.onWritable); err != nil {
		return err
	}
	return c.werr
}

// armWriteDeadline moves the write deadline to idle_timeout from now, when
// it has fallen behind by an eighth of it.
func (c *conn) armWriteDeadline() {
	if want := time.Now().Add(c.s.cfg.IdleTimeout); want.Sub(c.writeDeadline) > c.s.cfg.IdleTimeout/8 {
		c.tc.SetWriteDeadline(want)
		c.writeDeadline = want
	}
}

func (c *conn) writable(fd uintptr) bool {
	before := len(c.pending)
	for len(c.pending) > 0 {
		n, err := syscall.Write(int(fd), c.pending)
		c.c[models.SysWrite]++
		switch err {
		case nil:
			if n < len(c.pending) {
				c.c[models.PartialWrites]++
			}
			c.c[models.BytesOut] += uint64(n)
			c.pending = c.pending[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			c.c[models.WriteEAGAIN]++
			if len(c.pending) < before {
				c.armWriteDeadline() // progress: the client is reading
			}
			return false
		default:
			c.werr = err
			return true
		}
	}
	return true
}

func (c *conn) releaseBuffers() {
	if c.in != nil {
		c.s.putBuf(c.in)
		c.in = nil
	}
	if c.out != nil {
		c.s.putBuf(c.out)
		c.out = nil
	}
}

// close ends the connection. When responses may still be on their way (after
// a response that closes the connection, or when stopping), the write side is
// shut first, and what the client still sends is read and dropped until it
// closes or lingerTime passes: closing with unread input sends a reset, and a
// reset discards whatever output the kernel has not yet delivered.
func (c *conn) close(graceful bool) {
	if graceful {
		c.c[models.SysShutdown]++
		if c.tc.CloseWrite() == nil {
			c.linger()
		}
	}
	c.tc.Close()
	c.c[models.SysClose]++
	c.c[models.Closed]++
	c.sess.Abort()
	c.releaseBuffers()
	c.s.publish(&c.c, c.shard)
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	c.s.open.Add(-1)
	c.s.wg.Done()
}

func (c *conn) linger() {
	if c.in == nil {
		c.in = c.s.getBuf()
	}
	b := c.in.b[:cap(c.in.b)]
	c.tc.SetReadDeadline(time.Now().Add(lingerTime))
	for {
		if _, err := c.tc.Read(b); err != nil {
			return
		}
	}
}
