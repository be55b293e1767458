//go:build !race

package models

import (
	"strings"
	"testing"

	"iolab/models/app"
)

// A Session answers pipelined requests without allocating once warm.
func TestSessionAllocs(t *testing.T) {
	a, err := app.Lookup("bench")
	if err != nil {
		t.Fatal(err)
	}
	s, c := newSession(t, a.Handler)
	in := []byte(strings.Repeat("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 16) + "GET /json HTTP/1.1\r\nHost: t\r\n\r\n")
	out := make([]byte, 0, 8192)
	run := func() {
		used, o, _ := s.Serve(in, out[:0])
		if used != len(in) {
			t.Fatal("not all answered")
		}
		out = o
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per batch", n)
	}
	if c[Requests] == 0 {
		t.Fatal("nothing counted")
	}
}
