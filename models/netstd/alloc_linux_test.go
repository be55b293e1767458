//go:build linux && !race

package netstd_test

import (
	"testing"

	"iolab/internal/childtest"
	_ "iolab/models/netstd"
)

// TestServeAllocs: once warm, a connection's goroutine answers pipelined
// batches without allocating, small ones and batches of bodies larger than
// read_buffer (16 of 2 KB, 16 of 8 KB, echoed), as the raw loops must.
func TestServeAllocs(t *testing.T) {
	core := childtest.StartCore(t, "netstd", "bench")
	childtest.ServeAllocs(t, core, childtest.PlaintextRequest, 16)
	childtest.ServeAllocs(t, core, childtest.EchoRequest(2000), 16)
	childtest.ServeAllocs(t, core, childtest.EchoRequest(8000), 16)
}
