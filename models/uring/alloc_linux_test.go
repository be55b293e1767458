//go:build linux && !race

package uring_test

import (
	"strings"
	"testing"

	"iolab/internal/childtest"
)

// TestServeAllocs: once warm, a reactor answers pipelined requests without
// allocating, in every taskrun mode and with SQPOLL.
func TestServeAllocs(t *testing.T) {
	for _, knobs := range [][]string{{"taskrun=defer"}, {"taskrun=none"}, {"taskrun=coop"}, {"sqpoll=on", "taskrun=none"}} {
		t.Run(strings.Join(knobs, ","), func(t *testing.T) {
			core := start(t, "bench", append(knobs, "loops=1")...)
			childtest.ServeAllocs(t, core, childtest.PlaintextRequest, 16)
		})
	}
}

// TestStraddlingBatchAllocs: a batch that spans provided buffers, whose
// requests at the buffers' ends are completed from the next buffer, is
// answered without allocating too.
func TestStraddlingBatchAllocs(t *testing.T) {
	core := start(t, "bench", "loops=1", "buf_size=4KiB")
	childtest.ServeAllocs(t, core, childtest.TechEmpowerRequest, 64)
}

// TestLargeBatchAllocs: a batch larger than an output buffer (16 bodies of
// 2 KB, or of 8 KB, echoed) grows one, and bodies split between provided
// buffers grow the input; the next batch must find both kept, not grow
// them again.
func TestLargeBatchAllocs(t *testing.T) {
	core := start(t, "bench", "loops=1")
	childtest.ServeAllocs(t, core, childtest.EchoRequest(2000), 16)
	childtest.ServeAllocs(t, core, childtest.EchoRequest(8000), 16)
}
