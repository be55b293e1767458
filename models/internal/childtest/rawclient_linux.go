package childtest

import (
	"bytes"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// DialRaw connects a blocking socket with raw syscalls: a client that
// allocates nothing, for tests that count the server's allocations.
func DialRaw(t testing.TB, addr *net.TCPAddr) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	sa := &unix.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := unix.Connect(fd, sa); err != nil {
		t.Fatal(err)
	}
	return fd
}

// RoundTrip writes req and reads into buf until want bytes arrived (want
// 0: until a response ending in "Hello, World!"). It returns what it read.
func RoundTrip(t testing.TB, fd int, req []byte, want int, buf []byte) []byte {
	if _, err := unix.Write(fd, req); err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		n, err := unix.Read(fd, buf[got:])
		if err != nil || n == 0 {
			t.Fatalf("read: %d %v", n, err)
		}
		got += n
		if want > 0 && got >= want || want == 0 && bytes.HasSuffix(buf[:got], []byte("Hello, World!")) {
			return buf[:got]
		}
	}
}
