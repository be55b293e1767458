package sock

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Listen opens a non-blocking, close-on-exec TCP listener on addr
// ("host:port"; port 0 picks one). With reusePort several listeners can share
// the port, and the kernel spreads incoming connections among them.
func Listen(addr string, reusePort bool) (int, *net.TCPAddr, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return -1, nil, err
	}
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	if ip4 := ta.IP.To4(); ip4 != nil || ta.IP == nil {
		s := &unix.SockaddrInet4{Port: ta.Port}
		copy(s.Addr[:], ip4)
		sa = s
	} else {
		family = unix.AF_INET6
		s := &unix.SockaddrInet6{Port: ta.Port}
		copy(s.Addr[:], ta.IP.To16())
		if ta.Zone != "" {
			if ifi, err := net.InterfaceByName(ta.Zone); err == nil {
				s.ZoneId = uint32(ifi.Index)
			}
		}
		sa = s
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, nil, os.NewSyscallError("socket", err)
	}
	fail := func(call string, err error) (int, *net.TCPAddr, error) {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("listen %s: %w", addr, os.NewSyscallError(call, err))
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt SO_REUSEADDR", err)
	}
	if reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fail("setsockopt SO_REUSEPORT", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog()); err != nil {
		return fail("listen", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return fd, tcpAddr(bound), nil
}

// ListenGroup opens n listeners on addr sharing one port with SO_REUSEPORT:
// the first picks the port when addr's is 0, the others join it.
func ListenGroup(addr string, n int) ([]int, *net.TCPAddr, error) {
	fds := make([]int, 0, n)
	var bound *net.TCPAddr
	for i := 0; i < n; i++ {
		a := addr
		if bound != nil {
			a = net.JoinHostPort(bound.IP.String(), strconv.Itoa(bound.Port))
		}
		fd, b, err := Listen(a, true)
		if err != nil {
			for _, f := range fds {
				unix.Close(f)
			}
			return nil, nil, err
		}
		fds = append(fds, fd)
		if bound == nil {
			bound = b
		}
	}
	return fds, bound, nil
}

// StopListening stops every listener of a group at once, from whichever
// goroutine begins a graceful stop, before any loop drains its
// connections. Each loop closing its own listener when it wakes is not
// enough: an SO_REUSEPORT group hands new connections to the listeners
// still open, so a client whose connection one loop has already drained
// reconnects to a loop that has not yet woken, and is accepted after the
// stop began. shutdown on a listening socket stops it listening, resets the
// connections still queued and ends an accept (io_uring's armed multishot
// accept too); the descriptors stay open for their loops to close, so no
// number is reused under them. Errors are ignored: a listener already shut
// down is what the caller wants.
func StopListening(fds []int) {
	for _, fd := range fds {
		unix.Shutdown(fd, unix.SHUT_RDWR)
	}
}

// SetNoDelay turns off Nagle's algorithm, as package net does by default: a
// batch of responses is one write and must leave at once.
func SetNoDelay(fd int) error {
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
}

// backlog is the kernel's cap on the accept queue, net.core.somaxconn.
func backlog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
	}
	return 4096
}

func tcpAddr(sa unix.Sockaddr) *net.TCPAddr {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(s.Addr[:]).To16(), Port: s.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(s.Addr[:]), Port: s.Port}
	}
	return &net.TCPAddr{}
}

// OutOfResources reports an accept error that means "no descriptor or
// memory for another connection now": a reason to back off and retry, not to
// give up.
func OutOfResources(e unix.Errno) bool {
	return e == unix.EMFILE || e == unix.ENFILE || e == unix.ENOBUFS || e == unix.ENOMEM
}
