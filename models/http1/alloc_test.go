//go:build !race

package http1

import (
	"bytes"
	"testing"
)

// Parsing and encoding allocate nothing once the parser has seen a request:
// the hot path of every core depends on it. (The race detector allocates, so
// this file is excluded under -race.)
func TestAllocs(t *testing.T) {
	plain := []byte(techEmpowerRequest)
	pipelined := bytes.Repeat(plain, 16)
	chunked := []byte(chunkedReq("5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-T: v\r\n\r\n"))
	work := make([]byte, len(chunked))
	bad := []byte("GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n")
	p := NewParser(Limits{})
	var w ResponseWriter
	out := make([]byte, 0, 8192)
	cases := map[string]func(){
		"parse plaintext": func() {
			if _, err := p.Parse(plain); err != nil {
				t.Fatal(err)
			}
		},
		"parse pipelined": func() {
			for buf := pipelined; len(buf) > 0; {
				n, err := p.Parse(buf)
				if err != nil {
					t.Fatal(err)
				}
				buf = buf[n:]
			}
		},
		"parse chunked": func() {
			copy(work, chunked)
			if _, err := p.Parse(work); err != nil {
				t.Fatal(err)
			}
		},
		"reject": func() {
			p.Reset()
			if _, err := p.Parse(bad); err == nil {
				t.Fatal("accepted")
			}
			p.Reset()
		},
		"encode": func() {
			if _, err := p.Parse(plain); err != nil {
				t.Fatal(err)
			}
			w.Begin(out[:0], p.Request(), false)
			w.Header("X-A", "b")
			w.WriteString(200, "text/plain", "Hello, World!")
			out, _ = w.End()
		},
		"encode error": func() {
			out = AppendError(out[:0], KindObsFold.Err())
		},
	}
	for name, f := range cases {
		f() // warm: the parser's tables grow once
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}
