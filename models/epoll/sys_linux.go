package epoll

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"iolab/models"
)

// The loops make these calls on non-blocking descriptors, so none of them
// can block. They go through RawSyscall, skipping the runtime's
// entersyscall/exitsyscall: that bookkeeping exists so a blocked thread can
// give up its P, costs more than a short syscall, and, when a loop spends
// most of its time in syscalls, keeps sysmon waking every 20µs to retake P
// from it. Only epoll_wait with a timeout may block, and it goes through
// Syscall6 (see wait). Errors come back as unix.Errno values, compared
// without an interface.

func read(fd int, b []byte) (int, unix.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

func write(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(n), e
}

// accept4 accepts without asking for the peer's address, which unix.Accept4
// would allocate for on every connection.
func accept4(fd int) (int, unix.Errno) {
	for {
		nfd, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), 0, 0,
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			return int(nfd), 0
		case unix.EINTR, unix.ECONNABORTED:
			continue
		}
		return -1, e
	}
}

func epollCtl(epfd, op, fd int, ev *unix.EpollEvent) unix.Errno {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return e
}

// wait returns ready events, counting its epoll_wait calls in c, and the
// one that went through the runtime's bookkeeping as a RuntimeWait. It
// polls first, without blocking and without the runtime's syscall
// bookkeeping: under load the poll almost always finds events. When nothing
// is ready it waits up to rawMs still without that bookkeeping, and only a
// longer wait goes through Syscall6, so that an idle loop lets the runtime
// give its P to other goroutines. A short wait is not worth the hand-off:
// with one P, sysmon takes the P back from a syscall after 20 µs and, while
// it keeps doing so, wakes every 20 µs on the loop's CPU. A raw wait holds
// the P for at most rawMs; a preemption signal ends it early (EINTR).
func wait(epfd int, events []unix.EpollEvent, msec, rawMs int, c *models.Counters) (n int, err unix.Errno) {
	p := uintptr(unsafe.Pointer(&events[0]))
	raw := func(ms int) (int, unix.Errno) {
		c[models.SysEpollWait]++
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_WAIT, uintptr(epfd), p, uintptr(len(events)), uintptr(ms), 0, 0)
		return int(n), e
	}
	if n, err = raw(0); err != 0 || n > 0 || msec == 0 {
		return n, err
	}
	if rawMs > 0 {
		short := rawMs
		if msec > 0 {
			short = min(short, msec)
		}
		if n, err = raw(short); err != 0 || n > 0 || msec == short {
			return n, err
		}
		if msec > 0 {
			msec -= short
		}
	}
	c[models.SysEpollWait]++
	c[models.RuntimeWaits]++
	r, _, e := unix.Syscall6(unix.SYS_EPOLL_WAIT, uintptr(epfd), p, uintptr(len(events)), uintptr(msec), 0, 0)
	return int(r), e
}
