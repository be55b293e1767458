package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fuzzSeeds are the inputs of the table tests; crashers found by fuzzing are
// kept in testdata/fuzz/<Target>/ and run by every `go test`.
func fuzzSeeds() []string {
	s := []string{
		techEmpowerRequest,
		strings.Repeat(techEmpowerRequest, 3),
		"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		chunkedReq("5;a=\"b\\\"c\"\r\nhello\r\n0\r\nX: y\r\n\r\n"),
		"GET http://h:80/a?b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	}
	for _, r := range rejects {
		if len(r.in) < 4096 {
			s = append(s, r.in)
		}
	}
	return s
}

// FuzzParse checks the parser's own invariants on any input: it never panics,
// never claims more bytes than it was given, never reads past the request it
// returns, enforces the body limit, and gives the same answer whether the
// bytes arrive at once or in two pieces (in a buffer that moves between
// calls), and whether the body is taken whole or streamed in pieces.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		l := Limits{MaxBody: 1 << 16}
		whole := bytes.Clone(in)
		p := NewParser(l)
		n, err := p.Parse(whole)
		want := snapshot(p, n, err)
		if err == nil {
			r := p.Request()
			if n <= 0 || n > len(in) {
				t.Fatalf("consumed %d of %d", n, len(in))
			}
			if int64(len(r.Body)) > l.MaxBody {
				t.Fatalf("body %d over limit", len(r.Body))
			}
			if !bytes.Equal(whole[n:], in[n:]) {
				t.Fatal("parser wrote past the request")
			}
			if !r.Chunked && r.ContentLength >= 0 && int64(len(r.Body)) != r.ContentLength {
				t.Fatalf("body %d, Content-Length %d", len(r.Body), r.ContentLength)
			}
			// The request is complete at n: its prefix alone parses the same.
			p2 := NewParser(l)
			n2, err2 := p2.Parse(bytes.Clone(in[:n]))
			if got := snapshot(p2, n2, err2); got != want {
				t.Fatalf("prefix of length %d:\ngot  %+v\nwant %+v", n, got, want)
			}
		} else if !errors.Is(err, ErrNeedMore) {
			var e *Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status > 599 {
				t.Fatalf("error %v is not an *Error with a 4xx/5xx status", err)
			}
		}
		// Taken in pieces, streaming the body, the request is the same.
		if got, _ := streamed(l, in, int(cut)%61+1); got != want {
			t.Fatalf("streamed in pieces of %d:\ngot  %+v\nwant %+v", int(cut)%61+1, got, want)
		}
		c := 0
		if len(in) > 0 {
			c = int(cut) % (len(in) + 1)
		}
		p3 := NewParser(l)
		first := bytes.Clone(in[:c])
		n3, err3 := p3.Parse(first)
		if err3 == nil || !errors.Is(err3, ErrNeedMore) {
			// Decided on the first piece: it must agree with the whole.
			if got := snapshot(p3, n3, err3); got != want {
				t.Fatalf("decided early at %d:\ngot  %+v\nwant %+v", c, got, want)
			}
			return
		}
		moved := append(bytes.Clone(first), in[c:]...)
		n3, err3 = p3.Parse(moved)
		if got := snapshot(p3, n3, err3); got != want {
			t.Fatalf("split at %d:\ngot  %+v\nwant %+v", c, got, want)
		}
	})
}

// FuzzParseNetHTTP is a differential fuzz against net/http.ReadRequest: where
// both accept a request, they must frame it the same way and agree on method,
// target, host, headers, body and whether the connection stays open. (Where
// only one accepts, iolab is the stricter one by design.)
func FuzzParseNetHTTP(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := NewParser(Limits{MaxBody: 1 << 16})
		n, err := p.Parse(bytes.Clone(in))
		if err != nil {
			return
		}
		ours := p.Request()
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		if req.Method != string(ours.Method) || req.RequestURI != string(ours.Target) {
			t.Fatalf("request line: net/http %q %q, iolab %q %q", req.Method, req.RequestURI, ours.Method, ours.Target)
		}
		if req.ProtoMajor != int(ours.Major) || min(req.ProtoMinor, 1) != int(ours.Minor) {
			t.Fatalf("version: net/http %d.%d, iolab %d.%d", req.ProtoMajor, req.ProtoMinor, ours.Major, ours.Minor)
		}
		if req.Host != string(ours.Host) {
			t.Fatalf("host: net/http %q, iolab %q", req.Host, ours.Host)
		}
		if !bytes.Equal(body, ours.Body) {
			t.Fatalf("body: net/http %q, iolab %q", body, ours.Body)
		}
		if req.Close == ours.KeepAlive {
			t.Fatalf("keep-alive: net/http close=%v, iolab keep-alive=%v", req.Close, ours.KeepAlive)
		}
		// Headers, except those net/http moves out of Header.
		theirs := map[string][]string{}
		for k, v := range req.Header {
			if k = strings.ToLower(k); k != "host" && k != "transfer-encoding" {
				theirs[k] = v
			}
		}
		mine := map[string][]string{}
		for i := range ours.NumHeaders() {
			h := ours.HeaderAt(i)
			if k := strings.ToLower(string(h.Name)); k != "host" && k != "transfer-encoding" {
				mine[k] = append(mine[k], string(h.Value))
			}
		}
		if len(mine) != len(theirs) {
			t.Fatalf("headers: net/http %q, iolab %q", theirs, mine)
		}
		for k, v := range mine {
			if strings.Join(v, "\x00") != strings.Join(theirs[k], "\x00") {
				t.Fatalf("header %q: net/http %q, iolab %q", k, theirs[k], v)
			}
		}
		_ = n
	})
}
