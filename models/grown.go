package models

// Grown keeps the buffers a loop's connections outgrew, for the next batch
// that needs as much. Under a steady load of large batches (pipelined
// bodies, deep pipelines) each batch would otherwise grow a buffer of the
// same size again and leave the last one to the garbage collector: with
// 2 KB bodies pipelined 16 deep, allocating took a quarter to two fifths of
// a core's cycles. It holds at most GrownBytes in all, so a burst does not
// pin memory, and nothing for a connection: an idle connection holds no
// buffer, only the size its last one grew to (a hint for Get). A loop owns
// one and uses it from its own thread only.
type Grown struct {
	bufs  [][]byte
	bytes int
}

// GrownBytes bounds what a Grown holds; a buffer larger than a quarter of
// it is never kept.
const GrownBytes = 8 << 20

// Get returns an empty buffer with room for at least need bytes, or nil if
// none is kept.
func (g *Grown) Get(need int) []byte {
	for i, b := range g.bufs {
		if cap(b) >= need {
			last := len(g.bufs) - 1
			g.bufs[i], g.bufs[last] = g.bufs[last], nil
			g.bufs = g.bufs[:last]
			g.bytes -= cap(b)
			return b[:0]
		}
	}
	return nil
}

// Put keeps b for a later Get if there is room; b must no longer be used.
func (g *Grown) Put(b []byte) {
	if c := cap(b); c > 0 && c <= GrownBytes/4 && g.bytes+c <= GrownBytes {
		g.bufs = append(g.bufs, b[:0])
		g.bytes += c
	}
}
