package models

import (
	"strings"
	"testing"

	"iolab/models/app"
)

// techEmpowerRequest is the plaintext request with TechEmpower's wrk headers.
const techEmpowerRequest = "GET /plaintext HTTP/1.1\r\n" +
	"Host: tfb-server\r\n" +
	"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

// BenchmarkSession answers TechEmpower's depth-16 plaintext pipeline: the
// user-space work per request that every core shares (parse, handler,
// encode). ns/op is per batch of 16.
func BenchmarkSession(b *testing.B) {
	a, err := app.Lookup("bench")
	if err != nil {
		b.Fatal(err)
	}
	s, _ := newSession(b, a.Handler)
	in := []byte(strings.Repeat(techEmpowerRequest, 16))
	out := make([]byte, 0, 8192)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		_, out, _ = s.Serve(in, out[:0])
	}
}
