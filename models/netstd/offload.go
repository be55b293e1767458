package netstd

import (
	"errors"
	"syscall"

	"iolab/models"
	"iolab/models/http1"
)

// The connection's side of two things a Session may ask for besides bytes
// (see the models package). handler=offload: the connection's goroutine
// waits on its wake channel while a worker runs the handler (its own
// goroutine could have run it, but then it would not be the pool's
// handler); a flush that comes while the goroutine is parked in a read (a
// handler answering before its body has all arrived) goes out with the next
// read. zerocopy=on: a file segment goes with sendfile(2).

// Resume implements models.Resumer.
func (c *conn) Resume(uint64) {
	select {
	case c.wake <- struct{}{}:
	default: // already woken
	}
}

var errForced = errors.New("netstd: stopped while a handler was running")

// settleSession does what the Session asks after a batch, until it asks
// for input again: send a pending file, wait for the handler in flight,
// and write what each turn answers. It reports whether the connection must
// close.
func (c *conn) settleSession() (closing bool, err error) {
	for {
		switch {
		case c.sess.AfterOutput():
			if f, ok := c.sess.PendingFile(); ok {
				if err := c.sendFile(f); err != nil {
					return false, err
				}
				c.sess.FileSent()
			}
		case c.sess.Working() || c.sess.Holding():
			select {
			case <-c.wake:
			case <-c.s.forced:
				return false, errForced
			}
		default:
			return false, nil
		}
		if c.out == nil {
			c.out = c.s.getBuf()
		}
		var in []byte
		if c.in != nil {
			in = c.in.b
		}
		used, out, closing := c.sess.Serve(in, c.out.b[:0])
		c.out.b = out
		if len(out) > 0 {
			if err := c.write(out); err != nil {
				return false, err
			}
		}
		if c.in != nil {
			c.in.b = models.Compact(c.in.b, used)
		}
		if closing {
			return true, nil
		}
	}
}

// sendFile sends a file segment from the page cache to the socket,
// parking while the socket is full, as write does.
func (c *conn) sendFile(f http1.FileSegment) error {
	c.armWriteDeadline()
	var err error
	werr := c.rc.Write(func(fd uintptr) bool {
		for f.Size > 0 {
			off := f.Off
			n, e := syscall.Sendfile(int(fd), f.FD, &off, int(min(f.Size, 1<<30)))
			c.c[models.SysSendfile]++
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				c.c[models.WriteEAGAIN]++
				return false
			case e != nil:
				err = e
				return true
			case n == 0:
				err = errShortFile
				return true
			}
			c.c[models.BytesOut] += uint64(n)
			f.Off += int64(n)
			f.Size -= int64(n)
		}
		return true
	})
	return errors.Join(werr, err)
}

var errShortFile = errors.New("netstd: the file ended before its declared length")
