package loadgen

import (
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The workers make these calls on non-blocking sockets, so none of them can
// block, and they go through RawSyscall: the runtime's entersyscall and
// exitsyscall exist so that a blocked thread can give up its P, and cost more
// than a short syscall. The client must be cheaper per request than the
// server it measures, so it cannot afford them. Only epoll_wait with a
// timeout may block; it polls first without the bookkeeping and blocks
// through Syscall6 only when nothing is ready (see wait). Errors are
// unix.Errno values, compared without an interface.

func read(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

// send writes with MSG_NOSIGNAL: a server that closed the connection must
// be an EPIPE to count, never a SIGPIPE.
func send(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		unix.MSG_NOSIGNAL, 0, 0)
	return int(n), e
}

func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) unix.Errno {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return e
}

// noPwait2 is set once epoll_pwait2 (Linux 5.11) turns out to be missing.
var noPwait2 atomic.Bool

// wait returns ready events, waiting at most timeout nanoseconds (negative:
// until an event), and how many syscalls that took. It polls first, without blocking and without the
// runtime's syscall bookkeeping; under load the poll almost always finds
// events. Only then does it block, through Syscall6, so the runtime can hand
// the thread's P to other goroutines meanwhile. The blocking call is
// epoll_pwait2, whose timeout is in nanoseconds: an open loop that wakes to
// the millisecond would add up to a millisecond of the client's own lateness
// to every latency it reports. Where epoll_pwait2 is missing, it sleeps
// whole milliseconds and then polls.
func wait(epfd int, events []unix.EpollEvent, timeout int64) (int, unix.Errno, int) {
	p := uintptr(unsafe.Pointer(&events[0]))
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(epfd), p, uintptr(len(events)), 0, 0, 0)
	if e != 0 || n > 0 || timeout == 0 {
		return int(n), e, 1
	}
	if !noPwait2.Load() {
		var ts unix.Timespec
		tp := uintptr(0)
		if timeout > 0 {
			ts = unix.NsecToTimespec(timeout)
			tp = uintptr(unsafe.Pointer(&ts))
		}
		n, _, e = unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd), p, uintptr(len(events)), tp, 0, 0)
		if e != unix.ENOSYS {
			return int(n), e, 2
		}
		noPwait2.Store(true)
	}
	msec := -1
	if timeout > 0 {
		msec = int(timeout / int64(time.Millisecond)) // then poll: never late by a rounding
	}
	n, _, e = unix.Syscall6(unix.SYS_EPOLL_WAIT, uintptr(epfd), p, uintptr(len(events)), uintptr(msec), 0, 0)
	return int(n), e, 2
}

// sockaddr is a raw socket address, built once per target and source
// address so that connecting allocates nothing.
type sockaddr struct {
	raw    [unix.SizeofSockaddrInet6]byte
	len    uint32
	family int
}

func newSockaddr(ap netip.AddrPort) sockaddr {
	var sa sockaddr
	a := ap.Addr().Unmap()
	port := ap.Port()
	if a.Is4() {
		r := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa.raw[0]))
		r.Family = unix.AF_INET
		putPort(&r.Port, port)
		r.Addr = a.As4()
		sa.len, sa.family = unix.SizeofSockaddrInet4, unix.AF_INET
		return sa
	}
	r := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa.raw[0]))
	r.Family = unix.AF_INET6
	putPort(&r.Port, port)
	r.Addr = a.As16()
	sa.len, sa.family = unix.SizeofSockaddrInet6, unix.AF_INET6
	return sa
}

// putPort stores port in network byte order, whatever the host's.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}

func socket(family int) (int, unix.Errno) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family),
		unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	return int(fd), e
}

func setsockoptInt(fd, level, opt, value int) unix.Errno {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v)), 4, 0)
	return e
}

func bind(fd int, sa *sockaddr) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(&sa.raw[0])), uintptr(sa.len))
	return e
}

func connect(fd int, sa *sockaddr) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa.raw[0])), uintptr(sa.len))
	return e
}

// soError returns (and clears) the socket's pending error: how a
// non-blocking connect reports its outcome.
func soError(fd int) unix.Errno {
	var v int32
	l := uint32(4)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR,
		uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return e
	}
	return unix.Errno(v)
}

// resetClose closes with SO_LINGER 0: the kernel sends a reset and keeps no
// TIME_WAIT, so a run that churns through connections (or ends with 50,000
// of them) does not leave the next run without ports. Nothing the client
// wrote is lost by it: a reset is only sent on a connection being given up.
func resetClose(fd int) {
	l := unix.Linger{Onoff: 1, Linger: 0}
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER,
		uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

func eventfd() (int, error) {
	return unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
}

// signal wakes the worker waiting on efd.
func signal(efd int) {
	one := uint64(1)
	unix.Write(efd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

func drainEventfd(efd int) {
	var v [8]byte
	read(efd, v[:])
}

// threadCPU is the calling thread's CPU time so far: the worker is locked to
// its thread, so this is the worker's own cost and nothing else's (not the
// garbage collector's, not an in-process server's).
func threadCPU() (user, sys time.Duration) {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// lowTimerSlack makes the thread's timed sleeps end when asked rather than up
// to 50µs later (the default slack), which an open loop would add to every
// latency it reports.
func lowTimerSlack() { unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) }

func closeFD(fd int) { unix.Close(fd) }
