package deadline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHeapOrders(t *testing.T) {
	var h Heap[int]
	r := rand.New(rand.NewPCG(1, 2))
	var want []int64
	for i := range 1000 {
		d := r.Int64N(500)
		h.Push(d, i)
		want = append(want, d)
		if i%7 == 0 { // interleave pops, as a loop does
			got, _ := h.Pop()
			slices.Sort(want)
			if got != want[0] {
				t.Fatalf("pop %d, want %d", got, want[0])
			}
			want = want[1:]
		}
	}
	slices.Sort(want)
	for _, w := range want {
		if d, ok := h.Next(); !ok || d != w {
			t.Fatalf("next %d %v, want %d", d, ok, w)
		}
		if got, _ := h.Pop(); got != w {
			t.Fatalf("pop %d, want %d", got, w)
		}
	}
	if _, ok := h.Next(); ok || h.Len() != 0 {
		t.Fatal("not empty")
	}
}
