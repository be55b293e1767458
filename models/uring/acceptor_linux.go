package uring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
	"iolab/models/internal/sock"
	"iolab/models/uring/ring"
)

// acceptor is the one ring that accepts with accept=acceptor. It hands each
// connection to the least-loaded reactor with IORING_OP_MSG_RING: the
// descriptor travels as the res of a CQE posted into the reactor's ring, so
// the reactor learns of it the way it learns of everything else, and needs
// no inbox or lock.
type acceptor struct {
	s       *Server
	ring    *ring.Ring
	lnfd    int
	efd     int
	wakeBuf []byte
	cqes    []*ring.CQE
	c       models.Counters
	closed  chan struct{} // closed once the listener is
	paused  atomic.Bool   // out of descriptors: a reactor closing one wakes it
}

func (a *acceptor) run(ready chan<- error) {
	runtime.LockOSThread()
	defer a.s.running.Done()
	defer close(a.closed)
	var err error
	a.efd = -1
	if a.ring, err = ring.Setup(256, &ring.Params{}); err == nil {
		if a.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC); err != nil {
			a.efd = -1
			err = os.NewSyscallError("eventfd", err)
		} else {
			a.wakeBuf, err = ring.Mmap(8)
		}
	}
	if err != nil {
		ready <- fmt.Errorf("acceptor: %w", err)
		unix.Close(a.lnfd)
		if a.ring != nil {
			a.ring.Close()
		}
		return
	}
	ready <- nil
	a.cqes = make([]*ring.CQE, 64)
	shard := len(a.s.reactors)
	accepting, waking := false, false
	// Out of descriptors, accepting waits pause before it is armed again;
	// pause grows with each failure in a row (backoff) and the growth
	// restarts only when an accept succeeds.
	var backoff, pause time.Duration
	for !a.s.end.Stopping.Load() {
		if !waking {
			sqe := a.getSQE()
			sqe.PrepRead(a.efd, a.wakeBuf[:8], ^uint64(0))
			sqe.SetData64(pack(opWake, 0, 0))
			waking = true
		}
		if !accepting && pause == 0 {
			sqe := a.getSQE()
			sqe.PrepMultishotAccept(a.lnfd, unix.SOCK_CLOEXEC)
			sqe.SetData64(pack(opAccept, 0, a.lnfd))
			accepting = true
		}
		timeout := time.Duration(-1)
		if pause > 0 {
			timeout = pause
		}
		_, werr := a.ring.SubmitAndWaitTimeout(1, timeout)
		if werr != nil && !errors.Is(werr, unix.ETIME) && !errors.Is(werr, unix.EINTR) {
			a.s.end.Fail(fmt.Errorf("acceptor: %w", werr))
			break
		}
		if pause > 0 && (errors.Is(werr, unix.ETIME) || !a.paused.Load()) {
			pause = 0 // time to try again, or a reactor freed a descriptor
		}
		n := a.ring.PeekBatchCQE(a.cqes)
		for _, cqe := range a.cqes[:n] {
			op, _, fd := unpack(cqe.UserData)
			switch op {
			case opWake:
				waking = false
				a.paused.Store(false)
			case opAccept:
				if cqe.Flags&ring.CQEFMore == 0 {
					accepting = false
				}
				switch {
				case cqe.Res >= 0:
					a.c[models.Accepted]++
					backoff = 0
					a.hand(int(cqe.Res))
				case sock.OutOfResources(unix.Errno(-cqe.Res)):
					a.c[models.AcceptErrors]++
					backoff = min(max(2*backoff, 10*time.Millisecond), time.Second)
					pause = backoff
					a.paused.Store(true)
				}
			case opMsg:
				if cqe.Res < 0 { // the reactor could not take it
					unix.Close(fd)
					a.c[models.Closed]++
				}
			}
		}
		a.ring.CQAdvance(uint32(n))
		a.publish(shard)
	}
	closeListener(a.lnfd, &a.c) // the ring's accept, if armed, ends with it
	a.publish(shard)
	a.ring.Close()
	ring.Munmap(a.wakeBuf)
}

func (a *acceptor) publish(shard int) {
	a.c[models.SysIOUringEnter] += a.ring.Enters
	a.c[models.SQEs] += a.ring.Submitted
	a.ring.Enters, a.ring.Submitted = 0, 0
	a.s.meter.Publish(shard, &a.c)
}

func (a *acceptor) getSQE() *ring.SQE {
	for {
		if sqe := a.ring.GetSQE(); sqe != nil {
			return sqe
		}
		a.ring.Submit()
	}
}

// hand posts the new connection into the least-loaded reactor's ring.
func (a *acceptor) hand(fd int) {
	best, least := a.s.reactors[0], int64(1<<62)
	for _, r := range a.s.reactors {
		if n := r.load.Load(); n < least {
			best, least = r, n
		}
	}
	best.load.Add(1)
	sqe := a.getSQE()
	sqe.PrepMsgRing(best.ring.Fd(), uint32(fd), pack(opHandoff, 0, 0), 0)
	sqe.SetData64(pack(opMsg, 0, fd))
}
