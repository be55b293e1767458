package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"
)

// TechEmpower's plaintext request, with the headers its wrk runs send.
const techEmpowerRequest = "GET /plaintext HTTP/1.1\r\n" +
	"Host: tfb-server\r\n" +
	"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

// BenchmarkParse compares the parser with net/http.ReadRequest and with
// fasthttp's request-header parser on the same bytes, in one run, so the
// ratios can be read off directly (benchstat -col /parser).
func BenchmarkParse(b *testing.B) {
	in := []byte(techEmpowerRequest)
	b.Run("parser=iolab", func(b *testing.B) {
		p := NewParser(Limits{})
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			p.memo.ok = false // a full parse every time, as the others do
			if _, err := p.Parse(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same request again on one connection: the header section is
	// recognised, not parsed (see memo). The others have no such path.
	b.Run("parser=iolab-repeated", func(b *testing.B) {
		p := NewParser(Limits{})
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Parse(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parser=nethttp", func(b *testing.B) {
		r := bytes.NewReader(in)
		br := bufio.NewReader(r)
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(in)
			br.Reset(r)
			if _, err := http.ReadRequest(br); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parser=fasthttp", func(b *testing.B) {
		var h fasthttp.RequestHeader
		r := bytes.NewReader(in)
		br := bufio.NewReader(r)
		b.SetBytes(int64(len(in)))
		b.ReportAllocs()
		for b.Loop() {
			r.Reset(in)
			br.Reset(r)
			h.Reset()
			if err := h.Read(br); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParsePipelined parses TechEmpower's depth-16 pipeline.
func BenchmarkParsePipelined(b *testing.B) {
	in := bytes.Repeat([]byte(techEmpowerRequest), 16)
	p := NewParser(Limits{})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		for buf := in; len(buf) > 0; {
			n, err := p.Parse(buf)
			if err != nil {
				b.Fatal(err)
			}
			buf = buf[n:]
		}
	}
}

// BenchmarkParseChunked parses a chunked upload of 64 KiB in 4 KiB chunks.
func BenchmarkParseChunked(b *testing.B) {
	var in []byte
	in = append(in, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"...)
	chunk := bytes.Repeat([]byte("x"), 4096)
	for i := 0; i < 16; i++ {
		in = append(in, "1000\r\n"...)
		in = append(in, chunk...)
		in = append(in, "\r\n"...)
	}
	in = append(in, "0\r\n\r\n"...)
	work := make([]byte, len(in))
	p := NewParser(Limits{})
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		copy(work, in) // decoding is in place
		if _, err := p.Parse(work); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode encodes TechEmpower's plaintext response.
func BenchmarkEncode(b *testing.B) {
	p := NewParser(Limits{})
	if _, err := p.Parse([]byte(techEmpowerRequest)); err != nil {
		b.Fatal(err)
	}
	req := p.Request()
	var w ResponseWriter
	out := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		w.Begin(out[:0], req, false)
		w.WriteString(200, "text/plain", "Hello, World!")
		out, _ = w.End()
	}
}
