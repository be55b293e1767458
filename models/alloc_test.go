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

// Streaming an upload to a native application allocates nothing either:
// the head is copied into the parser's memory, which it keeps.
func TestSessionStreamAllocs(t *testing.T) {
	a, err := app.Lookup("bench")
	if err != nil {
		t.Fatal(err)
	}
	s, c := newSession(t, a.Handler)
	head := []byte("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 65536\r\n\r\n")
	piece := make([]byte, 16384)
	first := append(head, piece[:100]...)
	out := make([]byte, 0, 4096)
	run := func() {
		used, o, _ := s.Serve(first, out[:0])
		if used != len(head)+100 {
			t.Fatalf("head: used %d", used)
		}
		for left := 65536 - 100; left > 0; left -= len(piece) {
			used, o, _ = s.Serve(piece[:min(len(piece), left)], o)
			if used != min(len(piece), left) {
				t.Fatalf("piece: used %d", used)
			}
		}
		out = o
	}
	run()
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Fatalf("%v allocations per upload", n)
	}
	if c[Status2xx] == 0 {
		t.Fatal("nothing answered")
	}
}
