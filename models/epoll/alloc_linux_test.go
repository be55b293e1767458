//go:build linux && !race

package epoll_test

import (
	"net"
	"strings"
	"testing"

	"iolab/models"
	"iolab/models/internal/childtest"
)

// TestServeAllocs: once warm, a loop answers pipelined requests without
// allocating. The client uses raw syscalls on a blocking socket, so whatever
// the process allocates meanwhile is the server's.
func TestServeAllocs(t *testing.T) {
	for _, trigger := range []string{"edge", "level"} {
		t.Run(trigger, func(t *testing.T) {
			core := start(t, "loops=1", "trigger="+trigger)
			fd := childtest.DialRaw(t, core.Addr().(*net.TCPAddr))
			batch := []byte(strings.Repeat(plaintextRequest, 16))
			// Every plaintext response has the same length.
			want := 16 * len(childtest.RoundTrip(t, fd, []byte(plaintextRequest), 0, make([]byte, 4096)))
			buf := make([]byte, 2*want)
			run := func() { childtest.RoundTrip(t, fd, batch, want, buf) }
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
