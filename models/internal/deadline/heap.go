// Package deadline is the timer structure of the event-loop cores: a min-heap
// of due times, one per loop, instead of a timer per connection.
//
// It is meant to be used lazily. A connection pushes an entry when it first
// needs a deadline and afterwards only updates its own "due" field as it
// makes progress, which costs nothing; when an entry reaches the top, the
// loop compares it with the connection's current due time and pushes it
// again if the connection has moved on. A busy connection therefore touches
// the heap once per timeout period, not once per request.
package deadline

import "time"

// Heap is a min-heap of (due, value) pairs. The zero value is empty and ready.
type Heap[T any] struct {
	items []item[T]
}

type item[T any] struct {
	due int64
	v   T
}

// Len is the number of entries.
func (h *Heap[T]) Len() int { return len(h.items) }

// Push adds v, due at due.
func (h *Heap[T]) Push(due int64, v T) {
	h.items = append(h.items, item[T]{due, v})
	i := len(h.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h.items[parent].due <= due {
			break
		}
		h.items[i] = h.items[parent]
		i = parent
	}
	h.items[i] = item[T]{due, v}
}

// Next returns the earliest due time, and false when the heap is empty.
func (h *Heap[T]) Next() (int64, bool) {
	if len(h.items) == 0 {
		return 0, false
	}
	return h.items[0].due, true
}

// Pop removes and returns the earliest entry. The heap must not be empty.
func (h *Heap[T]) Pop() (int64, T) {
	top := h.items[0]
	last := h.items[len(h.items)-1]
	var zero item[T]
	h.items[len(h.items)-1] = zero // drop the reference for the GC
	h.items = h.items[:len(h.items)-1]
	if n := len(h.items); n > 0 {
		i := 0
		for {
			c := 2*i + 1
			if c >= n {
				break
			}
			if r := c + 1; r < n && h.items[r].due < h.items[c].due {
				c = r
			}
			if last.due <= h.items[c].due {
				break
			}
			h.items[i] = h.items[c]
			i = c
		}
		h.items[i] = last
	}
	return top.due, top.v
}

// epoch anchors Now.
var epoch = time.Now()

// Now is a monotonic clock in nanoseconds, the one loops keep their
// deadlines in.
func Now() int64 { return int64(time.Since(epoch)) }
