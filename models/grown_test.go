package models

import "testing"

func TestGrown(t *testing.T) {
	var g Grown
	if b := g.Get(1); b != nil {
		t.Fatalf("empty Grown gave %d bytes", cap(b))
	}
	g.Put(make([]byte, 10, 32<<10))
	g.Put(make([]byte, 0, 64<<10))
	if b := g.Get(40 << 10); cap(b) != 64<<10 || len(b) != 0 {
		t.Fatalf("Get(40 KiB) = len %d cap %d, want an empty 64 KiB buffer", len(b), cap(b))
	}
	if b := g.Get(40 << 10); b != nil {
		t.Fatalf("the 64 KiB buffer was handed out twice")
	}
	if b := g.Get(1); cap(b) != 32<<10 || len(b) != 0 {
		t.Fatalf("Get(1) = len %d cap %d, want the empty 32 KiB buffer", len(b), cap(b))
	}
	// Bounded: one too large is never kept, and the total stays under GrownBytes.
	g.Put(make([]byte, 0, GrownBytes/4+1))
	for i := 0; i < 8; i++ {
		g.Put(make([]byte, 0, GrownBytes/4))
	}
	if g.bytes > GrownBytes || len(g.bufs) != 4 {
		t.Fatalf("kept %d buffers, %d bytes; want 4 and at most %d", len(g.bufs), g.bytes, GrownBytes)
	}
	b := make([]byte, 0, 1<<10)
	g = Grown{}
	g.Put(b)
	if n := testing.AllocsPerRun(100, func() { g.Put(g.Get(1)) }); n != 0 {
		t.Fatalf("Get and Put allocate: %v", n)
	}
}
