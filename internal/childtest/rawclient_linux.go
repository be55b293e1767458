package childtest

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"iolab/models"
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

// PlaintextRequest is the smallest plaintext request; TechEmpowerRequest the
// same with the headers TechEmpower's clients send (about 170 bytes: 64 of
// them fill more than two 4 KiB buffers).
const (
	PlaintextRequest   = "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"
	TechEmpowerRequest = "GET /plaintext HTTP/1.1\r\nHost: t\r\n" +
		"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
		"Connection: keep-alive\r\n\r\n"
)

// EchoRequest is a POST to the bench app's /echo with a body of n bytes
// (at least 13) that ends, as the plaintext body does, in "Hello, World!",
// so that RoundTrip sees where the echoed response ends.
func EchoRequest(n int) string {
	body := strings.Repeat("e", n-13) + "Hello, World!"
	return "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// ServeAllocs fails t unless core, serving the bench app in this process,
// answers batches of depth pipelined copies of req without allocating once
// warm (req must be answered by a response ending in "Hello, World!"). The
// client uses raw syscalls on a blocking socket, so whatever the process
// allocates meanwhile is the server's.
func ServeAllocs(t *testing.T, core models.Core, req string, depth int) {
	t.Helper()
	fd := DialRaw(t, core.Addr().(*net.TCPAddr))
	batch := []byte(strings.Repeat(req, depth))
	// Every plaintext response has the same length.
	want := depth * len(RoundTrip(t, fd, []byte(req), 0, make([]byte, len(req)+4096)))
	buf := make([]byte, 2*want)
	run := func() { RoundTrip(t, fd, batch, want, buf) }
	run()
	const runs = 200
	if n := testing.AllocsPerRun(runs, run); n != 0 {
		t.Fatalf("%v allocations per pipelined batch of %d (%d bytes)", n, depth, len(batch))
	}
	if got := core.Stats().Get(models.Requests); got < uint64(depth*runs) {
		t.Fatalf("requests %d, want at least %d", got, depth*runs)
	}
}
