//go:build linux && !race

package epoll_test

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"iolab/models"
)

// TestServeAllocs: once warm, a loop answers pipelined requests without
// allocating. The client here uses raw syscalls on a blocking socket, so
// that whatever the process allocates meanwhile is the server's.
func TestServeAllocs(t *testing.T) {
	for _, trigger := range []string{"edge", "level"} {
		t.Run(trigger, func(t *testing.T) {
			core := start(t, "loops=1", "trigger="+trigger)
			fd := dialRaw(t, core.Addr().(*net.TCPAddr))
			batch := []byte(strings.Repeat(plaintextRequest, 16))
			// Every plaintext response has the same length.
			one := roundTrip(t, fd, []byte(plaintextRequest), 0, make([]byte, 4096))
			want := 16 * len(one)
			buf := make([]byte, 2*want)
			run := func() { roundTrip(t, fd, batch, want, buf) }
			run()
			if n := testing.AllocsPerRun(200, run); n != 0 {
				t.Fatalf("%v allocations per pipelined batch of 16", n)
			}
			if st := core.Stats(); st.Get(models.Requests) < 16*200 {
				t.Fatalf("requests %d", st.Get(models.Requests))
			}
		})
	}
}

func dialRaw(t *testing.T, addr *net.TCPAddr) int {
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

// roundTrip writes req and reads into buf until want bytes arrived (want 0:
// until one plaintext response, told by its body). It returns what it read.
func roundTrip(t *testing.T, fd int, req []byte, want int, buf []byte) []byte {
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
