//go:build linux && !race

package uring_test

import (
	"net"
	"strings"
	"testing"

	"iolab/models"
	"iolab/models/internal/childtest"
)

const plaintextRequest = "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"

// TestServeAllocs: once warm, a reactor answers pipelined requests without
// allocating, in every taskrun mode and with SQPOLL.
func TestServeAllocs(t *testing.T) {
	for _, knobs := range [][]string{{"taskrun=defer"}, {"taskrun=none"}, {"taskrun=coop"}, {"sqpoll=on", "taskrun=none"}} {
		t.Run(strings.Join(knobs, ","), func(t *testing.T) {
			core := start(t, "bench", append(knobs, "loops=1")...)
			fd := childtest.DialRaw(t, core.Addr().(*net.TCPAddr))
			batch := []byte(strings.Repeat(plaintextRequest, 16))
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
