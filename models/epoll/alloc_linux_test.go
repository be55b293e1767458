//go:build linux && !race

package epoll_test

import (
	"testing"

	"iolab/internal/childtest"
)

// TestServeAllocs: once warm, a loop answers pipelined requests without
// allocating: small batches, batches of 64 larger requests (more than one
// 4 KiB read's worth, as the uring core's test has), and batches of 16
// bodies of 2 or 8 KB echoed, larger than a read or an output buffer.
func TestServeAllocs(t *testing.T) {
	for _, trigger := range []string{"edge", "level"} {
		t.Run(trigger, func(t *testing.T) {
			core := start(t, "loops=1", "trigger="+trigger)
			childtest.ServeAllocs(t, core, childtest.PlaintextRequest, 16)
			childtest.ServeAllocs(t, core, childtest.TechEmpowerRequest, 64)
			childtest.ServeAllocs(t, core, childtest.EchoRequest(2000), 16)
			childtest.ServeAllocs(t, core, childtest.EchoRequest(8000), 16)
		})
	}
}
