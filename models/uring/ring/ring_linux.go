package ring

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance, mapped into the process.
type Ring struct {
	fd       int
	flags    uint32
	features uint32

	ringMem []byte // the SQ ring; with FeatSingleMmap the CQ ring too
	cqMem   []byte // the CQ ring when it has its own mapping
	sqeMem  []byte

	sqHead, sqTail, sqFlags *uint32
	sqMask, sqEntries       uint32
	sqes                    []SQE
	sqeTail                 uint32 // next SQE handed out by GetSQE
	sqeHead                 uint32 // first SQE not yet published to the kernel

	cqHead, cqTail, cqOverflow *uint32
	cqMask, cqEntries          uint32
	cqes                       []CQE

	// What io_uring_enter is called with: the ring's descriptor, or after
	// RegisterRingFd its index in the thread's table and the flag that says
	// so (files_linux.go).
	enterFd    int
	enterFlags uint32

	files uint32 // slots in the registered file table

	// The timeout of a waiting io_uring_enter, passed by address: kept here,
	// in the Ring's heap object, rather than on the goroutine's stack.
	waitTs  unix.Timespec
	waitArg getEventsArg

	// Counters for the owner: io_uring_enter calls, SQEs handed to the
	// kernel (each once, when published), SQPOLL thread wake-ups, and the
	// enters that waited through the runtime's syscall bookkeeping (longer
	// than RawWait).
	Enters, Submitted, Wakeups, RuntimeWaits uint64

	// RawWait is how long a wait for completions spends without the Go
	// runtime's syscall bookkeeping (0: none; see enter): a wait up to
	// RawWait is made raw, and a longer one (or one without a limit) is
	// made in two, RawWait raw and the rest through the runtime, as epoll's
	// loop waits. Made in one, the longer wait went through the runtime at
	// once, and a loaded reactor makes one after every pass that finds
	// nothing ("until the next deadline", up to a second, while the next
	// completion is microseconds away): sysmon woke about 1,000 times a
	// second on its CPU at 256 connections and depth 16, against 100
	// beside epoll.
	RawWait time.Duration
}

// Setup creates a ring with at least entries SQEs, as
// io_uring_queue_init_params(3) does: io_uring_setup(2), then the mappings.
// p says what to set up (flags, CQ size, SQPOLL CPU and idle time) and
// receives what the kernel set up.
func Setup(entries uint32, p *Params) (*Ring, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return nil, os.NewSyscallError("io_uring_setup", errno)
	}
	r := &Ring{fd: int(fd), enterFd: int(fd), flags: p.Flags, features: p.Features}
	if err := r.mmap(p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mmap(p *Params) error {
	sqSize := int(p.SQOff.Array + p.SQEntries*4)
	cqSize := int(p.CQOff.CQEs + p.CQEntries*uint32(unsafe.Sizeof(CQE{})))
	single := p.Features&FeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	prot, flags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE
	if r.ringMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return os.NewSyscallError("mmap sq ring", err)
	}
	cq := r.ringMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
			return os.NewSyscallError("mmap cq ring", err)
		}
		cq = r.cqMem
	}
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.SQEntries)*int(unsafe.Sizeof(SQE{})), prot, flags); err != nil {
		return os.NewSyscallError("mmap sqes", err)
	}
	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead, r.sqTail, r.sqFlags = u32(r.ringMem, p.SQOff.Head), u32(r.ringMem, p.SQOff.Tail), u32(r.ringMem, p.SQOff.Flags)
	r.sqMask, r.sqEntries = *u32(r.ringMem, p.SQOff.RingMask), *u32(r.ringMem, p.SQOff.RingEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.SQEntries)
	// The SQ array maps ring slots to SQEs; like liburing, keep it the
	// identity, written once, so slot i always means sqes[i].
	array := unsafe.Slice(u32(r.ringMem, p.SQOff.Array), p.SQEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.cqHead, r.cqTail, r.cqOverflow = u32(cq, p.CQOff.Head), u32(cq, p.CQOff.Tail), u32(cq, p.CQOff.Overflow)
	r.cqMask, r.cqEntries = *u32(cq, p.CQOff.RingMask), *u32(cq, p.CQOff.RingEntries)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&cq[p.CQOff.CQEs])), p.CQEntries)
	return nil
}

// Close unmaps the ring and closes its descriptor, as io_uring_queue_exit(3).
// A ring with a registered descriptor is closed from the thread that
// registered it.
func (r *Ring) Close() error {
	r.unregisterRingFd()
	for _, m := range []*[]byte{&r.sqeMem, &r.cqMem, &r.ringMem} {
		if *m != nil {
			unix.Munmap(*m)
			*m = nil
		}
	}
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}

// Fd is the ring's descriptor (the target of a MSG_RING).
func (r *Ring) Fd() int { return r.fd }

// Flags are the setup flags the ring was created with.
func (r *Ring) Flags() uint32 { return r.flags }

// Features are the IORING_FEAT_* bits the kernel reported.
func (r *Ring) Features() uint32 { return r.features }

// SQEntries and CQEntries are the sizes of the two queues.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// GetSQE returns the next free SQE, zeroed, or nil when the SQ is full (then
// submit and try again), as io_uring_get_sqe(3).
func (r *Ring) GetSQE() *SQE {
	head := atomic.LoadUint32(r.sqHead)
	if r.sqeTail-head >= r.sqEntries {
		return nil
	}
	sqe := &r.sqes[r.sqeTail&r.sqMask]
	r.sqeTail++
	*sqe = SQE{}
	return sqe
}

// SQReady is the number of SQEs handed out and not yet submitted
// (io_uring_sq_ready(3)).
func (r *Ring) SQReady() uint32 { return r.sqeTail - atomic.LoadUint32(r.sqHead) }

// flushSQ publishes the SQEs handed out since the last flush by storing the
// tail (release), and returns how many the kernel has yet to consume. It is
// liburing's __io_uring_flush_sq. Submitted counts each SQE here, once:
// with SQPOLL the ones still waiting for the kernel thread are pending
// again at the next call, and counting pending SQEs (or what an enter
// returns, which with SQPOLL is what it was asked to submit) counted them
// again on every pass.
func (r *Ring) flushSQ() uint32 {
	if tail := r.sqeTail; r.sqeHead != tail {
		r.Submitted += uint64(tail - r.sqeHead)
		r.sqeHead = tail
		atomic.StoreUint32(r.sqTail, tail)
	}
	return r.sqeTail - atomic.LoadUint32(r.sqHead)
}

// Submit hands the pending SQEs to the kernel without waiting, as
// io_uring_submit(3). With SQPOLL the kernel thread picks them up by itself
// and the call only enters the kernel to wake that thread when it sleeps.
func (r *Ring) Submit() (int, error) {
	return r.SubmitAndWaitTimeout(0, -1)
}

// SubmitAndWait submits and waits for at least waitNr completions, as
// io_uring_submit_and_wait(3).
func (r *Ring) SubmitAndWait(waitNr uint32) (int, error) {
	return r.SubmitAndWaitTimeout(waitNr, -1)
}

// SubmitAndWaitTimeout submits and waits for waitNr completions or until
// timeout passes, whichever comes first (timeout < 0: no limit), as
// io_uring_submit_and_wait_timeout(3). The timeout is passed with
// IORING_ENTER_EXT_ARG, so no timeout SQE (and CQE) is spent on it. On
// timeout the error is unix.ETIME; a wait that a signal ends early returns
// unix.EINTR. It returns the number of SQEs submitted.
func (r *Ring) SubmitAndWaitTimeout(waitNr uint32, timeout time.Duration) (int, error) {
	raw := r.RawWait
	if waitNr == 0 || raw <= 0 || timeout >= 0 && timeout <= raw {
		return r.submitAndWait(waitNr, timeout, waitNr > 0 && raw > 0)
	}
	n, err := r.submitAndWait(waitNr, raw, true)
	if !errors.Is(err, unix.ETIME) || r.CQReady() > 0 {
		return n, err // completions, a signal, or a failure
	}
	if timeout > 0 {
		timeout -= raw
	}
	m, err := r.submitAndWait(waitNr, timeout, false)
	return n + m, err
}

// submitAndWait is one io_uring_enter for SubmitAndWaitTimeout; raw says
// whether a wait skips the runtime's bookkeeping.
func (r *Ring) submitAndWait(waitNr uint32, timeout time.Duration, raw bool) (int, error) {
	pending := r.flushSQ()
	var flags uint32
	toSubmit := pending
	if r.flags&SetupSQPoll != 0 {
		// The SQ thread consumes the ring; the Go store of the tail in
		// flushSQ is a full barrier, so this load sees its state after it.
		// Wake a sleeping SQ thread only for something to submit, as
		// liburing's sq_ring_needs_enter does: woken for nothing, it polls
		// for sq_idle_ms again, and a reactor that waits once a second
		// would keep it spinning for ever.
		if pending > 0 && atomic.LoadUint32(r.sqFlags)&SQNeedWakeup != 0 {
			flags |= EnterSQWakeup
			r.Wakeups++
		} else if waitNr == 0 && !r.cqNeedsFlush() {
			return int(pending), nil // nothing to enter the kernel for
		}
	}
	if waitNr > 0 || r.cqNeedsEnter() {
		flags |= EnterGetEvents
	}
	if toSubmit == 0 && flags == 0 {
		return 0, nil
	}
	var arg *getEventsArg
	if waitNr > 0 && timeout >= 0 {
		r.waitTs = unix.NsecToTimespec(int64(timeout))
		r.waitArg = getEventsArg{Ts: uint64(uintptr(unsafe.Pointer(&r.waitTs)))}
		arg = &r.waitArg
		flags |= EnterExtArg
	}
	return r.enter(toSubmit, waitNr, flags, arg, raw)
}

// cqNeedsEnter reports whether completions can only be had by entering the
// kernel with GETEVENTS: an overflowed CQ, task work pending (TASKRUN flag),
// or DEFER_TASKRUN, where completions are posted only inside io_uring_enter.
func (r *Ring) cqNeedsEnter() bool {
	return r.flags&(SetupIOPoll|SetupDeferTaskrun) != 0 || r.cqNeedsFlush()
}

// cqNeedsFlush is liburing's cq_ring_needs_flush.
func (r *Ring) cqNeedsFlush() bool {
	return atomic.LoadUint32(r.sqFlags)&(SQCQOverflow|SQTaskrun) != 0
}

// enter is io_uring_enter(2). A call that cannot sleep skips the runtime's
// syscall bookkeeping with RawSyscall6. One that may sleep goes through
// Syscall6, so the runtime can give the thread's P to other goroutines
// meanwhile, unless raw says the sleep is bounded by RawWait: then the
// hand-off would cost more than it frees. With one P, sysmon takes a P
// back from a syscall after 20 µs and, while it keeps doing so, wakes every
// 20 µs on the same CPU; a reactor that waits briefly between every batch
// paid for that on each wait (10% of its CPU per request, measured with
// wrk on one CPU). A bounded raw wait holds the P for at most RawWait.
//
// A signal ends a wait early: it returns unix.EINTR, as liburing's waits
// do, for the caller to wait again, from Go code. Retried here, a raw wait
// held the P for as long as signals kept coming faster than its timeout
// (which each retry restarted), and the runtime's preemption signals do:
// the garbage collector, stopping the world, sends them again and again to
// the goroutine whose P it needs, and that one waited for as long as no
// completion came (a test with several reactors in one process hung so).
func (r *Ring) enter(toSubmit, minComplete, flags uint32, arg *getEventsArg, raw bool) (int, error) {
	var argp, argsz uintptr
	if arg != nil {
		argp, argsz = uintptr(unsafe.Pointer(arg)), unsafe.Sizeof(*arg)
	}
	r.Enters++
	flags |= r.enterFlags
	var n uintptr
	var errno unix.Errno
	runtimeWait := minComplete > 0 && !raw
	if runtimeWait {
		r.RuntimeWaits++
	}
	for {
		if runtimeWait {
			n, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.enterFd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), argp, argsz)
		} else {
			n, _, errno = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.enterFd), uintptr(toSubmit), uintptr(minComplete), uintptr(flags), argp, argsz)
		}
		if errno != unix.EINTR || minComplete > 0 {
			break
		}
	}
	if errno != 0 {
		if errno == unix.ETIME || errno == unix.EINTR {
			return int(n), errno
		}
		return int(n), os.NewSyscallError("io_uring_enter", errno)
	}
	return int(n), nil
}

// CQReady is the number of completions waiting (io_uring_cq_ready(3)).
func (r *Ring) CQReady() uint32 {
	return atomic.LoadUint32(r.cqTail) - *r.cqHead
}

// PeekBatchCQE fills cqes with pointers to up to len(cqes) waiting
// completions and returns how many, without consuming them, as
// io_uring_peek_batch_cqe(3). When none is visible but the kernel holds some
// back (CQ overflow, or task work to run), it enters the kernel once to
// flush them. Consume with CQAdvance.
func (r *Ring) PeekBatchCQE(cqes []*CQE) int {
	ready := r.CQReady()
	if ready == 0 && r.cqNeedsFlush() {
		r.enter(0, 0, EnterGetEvents, nil, false)
		ready = r.CQReady()
	}
	n := min(int(ready), len(cqes))
	head := *r.cqHead
	for i := 0; i < n; i++ {
		cqes[i] = &r.cqes[(head+uint32(i))&r.cqMask]
	}
	return n
}

// CQAdvance marks n completions consumed (io_uring_cq_advance(3)): the
// release store of the head tells the kernel their slots are free.
func (r *Ring) CQAdvance(n uint32) {
	if n > 0 {
		atomic.StoreUint32(r.cqHead, *r.cqHead+n)
	}
}

// Overflow is the number of completions the kernel dropped because the CQ
// was full (only without IORING_FEAT_NODROP).
func (r *Ring) Overflow() uint32 { return atomic.LoadUint32(r.cqOverflow) }

// register is io_uring_register(2).
func (r *Ring) register(op uintptr, arg unsafe.Pointer, nr uintptr) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), op, uintptr(arg), nr, 0, 0)
	if errno != 0 {
		return os.NewSyscallError(fmt.Sprintf("io_uring_register(%d)", op), errno)
	}
	return nil
}
