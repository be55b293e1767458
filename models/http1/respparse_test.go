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

// respPlaintext is what iolab's bench app answers to /plaintext.
const respPlaintext = "HTTP/1.1 200 OK\r\nServer: iolab\r\nContent-Type: text/plain\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 13\r\n\r\nHello, World!"

const respChunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
	"5;name=\"v\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"

// respResult is what a framing attempt tells, comparable.
type respResult struct {
	n        int
	err      string
	status   int
	body     string
	bodyLen  int64
	cl       int64
	chunked  bool
	close    bool
	headLen  int
	interim  bool
	hasBody  bool // Body is not nil
	minor    uint8
	framedOK bool
}

func respSnapshot(p *ResponseParser, buf []byte, n int, err error) respResult {
	if err != nil {
		return respResult{err: err.Error()}
	}
	r := p.Response()
	return respResult{n: n, status: r.Status, body: string(r.Body), bodyLen: r.BodyLen, cl: r.ContentLength,
		chunked: r.Chunked, close: r.Close, headLen: r.HeadLen, interim: r.Interim(), hasBody: r.Body != nil,
		minor: r.Minor, framedOK: true}
}

func frameOnce(in string, m Method, decode bool) respResult {
	p := &ResponseParser{DecodeChunked: decode}
	buf := []byte(in)
	n, err := p.Parse(buf, m)
	return respSnapshot(p, buf, n, err)
}

func TestResponseValid(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		method  Method
		decode  bool
		n       int // bytes the response occupies (-1: all of in)
		status  int
		body    string
		chunked bool
		close   bool
		interim bool
	}{
		{"plaintext", respPlaintext, GET, false, -1, 200, "Hello, World!", false, false, false},
		{"plaintext then more", respPlaintext + "HTTP/1.1 2", GET, false, len(respPlaintext), 200, "Hello, World!", false, false, false},
		{"chunked decoded", respChunked, GET, true, -1, 200, "hello world", true, false, false},
		{"empty body", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", GET, false, -1, 200, "", false, false, false},
		{"no reason", "HTTP/1.1 404\r\nContent-Length: 1\r\n\r\nx", GET, false, -1, 404, "x", false, false, false},
		{"empty reason", "HTTP/1.1 500 \r\nContent-Length: 1\r\n\r\nx", GET, false, -1, 500, "x", false, false, false},
		{"reason with tab and obs-text", "HTTP/1.1 200 O\tK \xe9\r\nContent-Length: 0\r\n\r\n", GET, false, -1, 200, "", false, false, false},
		{"HEAD with length", "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", HEAD, false, -1, 200, "", false, false, false},
		{"204 ignores length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", GET, false, -1, 204, "", false, false, false},
		{"304", "HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", GET, false, -1, 304, "", false, false, false},
		{"100 continue", "HTTP/1.1 100 Continue\r\n\r\n", POST, false, -1, 100, "", false, false, true},
		{"103 early hints", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", GET, false, -1, 103, "", false, false, true},
		{"101 switches", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", GET, false, -1, 101, "", false, true, false},
		{"CONNECT 200 tunnels", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", CONNECT, false, -1, 200, "", false, true, false},
		{"CONNECT 407 has a body", "HTTP/1.1 407 No\r\nContent-Length: 2\r\n\r\nno", CONNECT, false, -1, 407, "no", false, false, false},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, true, false},
		{"connection list", "HTTP/1.1 200 OK\r\nconnection: Upgrade ,  CLOSE\r\nContent-Length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, true, false},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, true, false},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, false, false},
		{"HTTP/1.2 reads as 1.1", "HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, false, false},
		{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, false, false},
		{"length with spaces", "HTTP/1.1 200 OK\r\nContent-Length: \t2 \r\n\r\nok", GET, false, -1, 200, "ok", false, false, false},
		{"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: , Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n", GET, true, -1, 200, "z", true, false, false},
		{"big chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0000A\r\n0123456789\r\n0\r\n\r\n", GET, true, -1, 200, "0123456789", true, false, false},
		{"obs-fold on other field", "HTTP/1.1 200 OK\r\nX-A: a\r\n  b\r\nContent-Length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, false, false},
		{"long header value", "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("v\t", 100) + "\r\nContent-Length: 2\r\n\r\nok", GET, false, -1, 200, "ok", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := frameOnce(c.in, c.method, c.decode)
			want := c.n
			if want < 0 {
				want = len(c.in)
			}
			if !got.framedOK || got.n != want || got.status != c.status || got.body != c.body ||
				got.chunked != c.chunked || got.close != c.close || got.interim != c.interim {
				t.Fatalf("got %+v\nwant n=%d status=%d body=%q chunked=%v close=%v interim=%v",
					got, want, c.status, c.body, c.chunked, c.close, c.interim)
			}
		})
	}
}

func TestResponseUntilClose(t *testing.T) {
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\n\r\nuntil the end",
		"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the end",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nuntil the end",
	} {
		p := &ResponseParser{}
		buf := []byte(in)
		if _, err := p.Parse(buf, GET); err != ErrNeedMore {
			t.Fatalf("%q: %v before the end", in, err)
		}
		n, err := p.EOF(buf, GET)
		r := p.Response()
		if err != nil || n != len(in) || string(r.Body) != "until the end" || !r.Close || r.BodyLen != 13 {
			t.Fatalf("%q: n=%d err=%v %+v", in, n, err, r)
		}
	}
	p := &ResponseParser{}
	if n, err := p.EOF(nil, GET); n != 0 || err != nil {
		t.Fatalf("clean end: %d %v", n, err)
	}
	for _, in := range []string{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", "HTTP/1.1 2", respChunked[:60]} {
		p := &ResponseParser{}
		if _, err := p.EOF([]byte(in), GET); err != errRespTruncated {
			t.Fatalf("%q: %v, want truncated", in, err)
		}
		if _, err := p.Parse([]byte(in), GET); err != errRespTruncated {
			t.Fatalf("%q: not sticky: %v", in, err)
		}
	}
	// EOF after a complete response starts nothing new.
	p = &ResponseParser{}
	buf := []byte(respPlaintext)
	if n, err := p.EOF(buf, GET); n != len(buf) || err != nil {
		t.Fatalf("complete at EOF: %d %v", n, err)
	}
	if n, err := p.EOF(nil, GET); n != 0 || err != nil {
		t.Fatalf("after complete: %d %v", n, err)
	}
}

func TestResponseChunkedSkipped(t *testing.T) {
	buf := []byte(respChunked)
	orig := bytes.Clone(buf)
	p := &ResponseParser{}
	n, err := p.Parse(buf, GET)
	r := p.Response()
	if err != nil || n != len(buf) || r.Body != nil || r.BodyLen != 11 || !r.Chunked {
		t.Fatalf("n=%d err=%v %+v", n, err, r)
	}
	if !bytes.Equal(buf, orig) {
		t.Fatal("skipping a chunked body modified the buffer")
	}
}

var respRejects = []struct {
	name, in string
	err      *ResponseError
}{
	{"not HTTP", "HTTQ/1.1 200 OK\r\n\r\n", errRespStatusLine},
	{"lower case", "http/1.1 200 OK\r\n\r\n", errRespStatusLine},
	{"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", errRespVersion},
	{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", errRespStatusLine},
	{"status 099", "HTTP/1.1 099 X\r\n\r\n", errRespStatusLine},
	{"status 600", "HTTP/1.1 600 X\r\n\r\n", errRespStatusLine},
	{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", errRespStatusLine},
	{"leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n", errRespStatusLine},
	{"bare LF status line", "HTTP/1.1 200 OK\n\r\n", errRespLineEnding},
	{"bare CR status line", "HTTP/1.1 200 OK\rX\r\n\r\n", errRespLineEnding},
	{"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", errRespStatusLine},
	{"bare LF field", "HTTP/1.1 200 OK\r\nA: b\n\r\n", errRespLineEnding},
	{"bare LF end of head", "HTTP/1.1 200 OK\r\nA: b\r\n\n", errRespLineEnding},
	{"bare CR end of head", "HTTP/1.1 200 OK\r\nA: b\r\n\rX", errRespLineEnding},
	{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", errRespHeaderName},
	{"empty name", "HTTP/1.1 200 OK\r\n: x\r\n\r\n", errRespHeaderName},
	{"no colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", errRespHeaderName},
	{"NUL in value", "HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n", errRespHeaderValue},
	{"DEL in value", "HTTP/1.1 200 OK\r\nA: b\x7fc\r\n\r\n", errRespHeaderValue},
	{"fold before first field", "HTTP/1.1 200 OK\r\n X: y\r\n\r\n", errRespObsFold},
	{"fold onto Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 2\r\n\r\nok", errRespObsFold},
	{"fold onto Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n", errRespObsFold},
	{"length not a number", "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n", errRespContentLength},
	{"length leading zero", "HTTP/1.1 200 OK\r\nContent-Length: 02\r\n\r\nok", errRespContentLength},
	{"length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", errRespContentLength},
	{"length negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", errRespContentLength},
	{"length empty", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", errRespContentLength},
	{"length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", errRespContentLength},
	{"lengths differ", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", errRespContentLength},
	{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", errRespTransferEncoding},
	{"chunked in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", errRespTransferEncoding},
	{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", errRespTransferEncoding},
	{"chunked twice across", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n", errRespTransferEncoding},
	{"chunked with parameter", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", errRespTransferEncoding},
	{"coding not a token", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", errRespTransferEncoding},
	{"chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", errRespChunk},
	{"chunk size empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", errRespChunk},
	{"chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", errRespChunk},
	{"chunk size trailing space", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", errRespChunk},
	{"chunk size bare LF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", errRespLineEnding},
	{"chunk data too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", errRespChunk},
	{"chunk ext control", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x01\r\nb\r\n0\r\n\r\n", errRespChunk},
	{"chunk line too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("a", respMaxChunkLine) + "\r\n", errRespChunk},
	{"trailer fold", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n", errRespObsFold},
	{"trailer bad line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n", errRespHeaderName},
	{"head too large", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", DefaultMaxResponseHead) + "\r\n\r\n", errRespHeadTooLarge},
	{"head too large, unfinished", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", DefaultMaxResponseHead), errRespHeadTooLarge},
	{"trailers too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + strings.Repeat("X: y\r\n", DefaultMaxResponseHead/5), errRespHeadTooLarge},
}

func TestResponseRejects(t *testing.T) {
	for _, c := range respRejects {
		t.Run(c.name, func(t *testing.T) {
			p := &ResponseParser{}
			n, err := p.Parse([]byte(c.in), GET)
			if err != c.err {
				t.Fatalf("n=%d err=%v, want %v", n, err, c.err)
			}
			// Sticky: the connection cannot be trusted past it.
			if _, err := p.Parse([]byte(respPlaintext), GET); err != c.err {
				t.Fatalf("not sticky: %v", err)
			}
			p.Reset()
			if _, err := p.Parse([]byte(respPlaintext), GET); err != nil {
				t.Fatalf("after Reset: %v", err)
			}
		})
	}
}

// frameSplit feeds in to a fresh parser in pieces ending at cuts (and then
// whole), in a buffer that moves to a new array before every call, as a
// connection's buffer does when it grows.
func frameSplit(in string, cuts []int, m Method, decode bool) respResult {
	p := &ResponseParser{DecodeChunked: decode}
	var buf []byte
	prev := 0
	for _, c := range append(cuts, len(in)) {
		moved := make([]byte, c, c+7)
		copy(moved, buf)
		copy(moved[prev:], in[prev:c])
		buf, prev = moved, c
		n, err := p.Parse(buf, m)
		if err != ErrNeedMore || c == len(in) {
			return respSnapshot(p, buf, n, err)
		}
	}
	panic("unreachable")
}

func respValidInputs() []string {
	return []string{
		respPlaintext, respChunked,
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nno!",
		"HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("0123456789abcdef", 8) + "\r\nContent-Length: 2\r\n\r\nok",
	}
}

func TestResponseSplitAnywhere(t *testing.T) {
	var ins []string
	ins = append(ins, respValidInputs()...)
	for _, r := range respRejects {
		if len(r.in) < 512 {
			ins = append(ins, r.in)
		}
	}
	for _, in := range ins {
		for _, decode := range []bool{false, true} {
			want := frameOnce(in, GET, decode)
			for c := 0; c < len(in); c++ {
				if got := frameSplit(in, []int{c}, GET, decode); got != want {
					t.Fatalf("%q cut at %d (decode %v):\ngot  %+v\nwant %+v", in, c, decode, got, want)
				}
			}
			cuts := make([]int, 0, len(in))
			for c := 1; c < len(in); c++ {
				cuts = append(cuts, c)
			}
			if got := frameSplit(in, cuts, GET, decode); got != want {
				t.Fatalf("%q byte by byte (decode %v):\ngot  %+v\nwant %+v", in, decode, got, want)
			}
		}
	}
}

func TestResponsePipelined(t *testing.T) {
	seq := []struct {
		in     string
		method Method
		status int
		body   string
	}{
		{respPlaintext, GET, 200, "Hello, World!"},
		{"HTTP/1.1 100 Continue\r\n\r\n", POST, 100, ""},
		{"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone", POST, 201, "done"},
		{"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", HEAD, 200, ""},
		{respChunked, GET, 200, "hello world"},
		{"HTTP/1.1 204 No Content\r\n\r\n", DELETE, 204, ""},
		{respPlaintext, GET, 200, "Hello, World!"},
	}
	var all []byte
	for _, s := range seq {
		all = append(all, s.in...)
	}
	p := &ResponseParser{DecodeChunked: true}
	buf := all
	for i, s := range seq {
		n, err := p.Parse(buf, s.method)
		r := p.Response()
		if err != nil || n != len(s.in) || r.Status != s.status || string(r.Body) != s.body {
			t.Fatalf("response %d: n=%d err=%v status=%d body=%q", i, n, err, r.Status, r.Body)
		}
		buf = buf[n:]
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left", len(buf))
	}
}

// TestResponseMemo: a head identical to the last one framed is taken from
// the memo, but only when it answers the same method; any other head is
// framed afresh.
func TestResponseMemo(t *testing.T) {
	p := &ResponseParser{DecodeChunked: true}
	frame := func(in string, m Method) respResult {
		buf := []byte(in)
		n, err := p.Parse(buf, m)
		return respSnapshot(p, buf, n, err)
	}
	head := "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n"
	seq := []struct {
		in string
		m  Method
	}{
		{head + "Hello, World!", GET},
		{head + "Hello, World!", GET}, // from the memo
		{head, HEAD},                  // same head, no body: not from the memo
		{head, HEAD},
		{head + "Hello, World!", GET},
		{"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nX: y\r\n\r\nHello, World!", GET}, // the memo is a prefix of the line, not the head
		{strings.Replace(respPlaintext, "05 GMT", "06 GMT", 1), GET},
		{respPlaintext, GET},
		{respChunked, GET},
		{respChunked, GET},
		{"HTTP/1.1 100 Continue\r\n\r\n", POST},
		{"HTTP/1.1 100 Continue\r\n\r\n", POST},
		{"HTTP/1.0 200 OK\r\n\r\nto the end", GET},
	}
	for i, c := range seq {
		want := frameOnce(c.in, c.m, true)
		if got := frame(c.in, c.m); got != want {
			t.Fatalf("%d %q:\ngot  %+v\nwant %+v", i, c.in, got, want)
		}
	}
	// A memo hit on a buffer that holds only part of the body asks for the
	// rest, then completes.
	p = &ResponseParser{}
	frame(respPlaintext, GET)
	buf := []byte(respPlaintext)
	if _, err := p.Parse(buf[:len(buf)-3], GET); err != ErrNeedMore || p.Need() != len(buf) {
		t.Fatalf("partial body after a memo hit: %v, need %d", err, p.Need())
	}
	if n, err := p.Parse(buf, GET); err != nil || n != len(buf) || string(p.Response().Body) != "Hello, World!" {
		t.Fatalf("%d %v", n, err)
	}
	// A head longer than respMaxMemo is never remembered.
	long := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", respMaxMemo) + "\r\nContent-Length: 0\r\n\r\n"
	frame(long, GET)
	if p.memo.ok {
		t.Fatal("remembered a long head")
	}
}

func TestResponseNeed(t *testing.T) {
	p := &ResponseParser{}
	in := []byte(respPlaintext)
	head := len(respPlaintext) - len("Hello, World!")
	if _, err := p.Parse(in[:head+2], GET); err != ErrNeedMore || p.Need() != len(in) {
		t.Fatalf("need %d, want %d (%v)", p.Need(), len(in), err)
	}
	if !p.InProgress() {
		t.Fatal("not in progress inside a body")
	}
	if _, err := p.Parse(in, GET); err != nil || p.Need() != 0 || p.InProgress() {
		t.Fatalf("after: %v need %d", err, p.Need())
	}
}

// TestResponseFromWriter frames what this package's own encoder writes:
// client and server halves agree.
func TestResponseFromWriter(t *testing.T) {
	for _, c := range []struct {
		req     string
		status  int
		body    string
		closing bool
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200, "Hello, World!", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 404, "not found\n", true},
		{"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", 200, "Hello, World!", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 204, "", false},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 304, "", false},
		{"GET / HTTP/1.0\r\n\r\n", 200, "old", false},
	} {
		rp := NewParser(Limits{})
		if _, err := rp.Parse([]byte(c.req)); err != nil {
			t.Fatal(err)
		}
		req := rp.Request()
		var w ResponseWriter
		w.Begin(nil, req, c.closing)
		w.Header("X-Extra", "1")
		w.WriteString(c.status, "text/plain", c.body)
		out, _ := w.End()
		p := &ResponseParser{}
		n, err := p.Parse(out, req.MethodID)
		r := p.Response()
		wantBody := c.body
		if req.IsHead() || c.status == 204 || c.status == 304 {
			wantBody = ""
		}
		if err != nil || n != len(out) || r.Status != c.status || string(r.Body) != wantBody || r.Close != c.closing {
			t.Fatalf("%q %d: n=%d/%d err=%v %+v\n%s", c.req, c.status, n, len(out), err, r, out)
		}
	}
	// And the error responses.
	out := AppendError(nil, KindHost.Err())
	p := &ResponseParser{}
	if n, err := p.Parse(out, GET); err != nil || n != len(out) || p.Response().Status != 400 || !p.Response().Close {
		t.Fatalf("error response: %d %v %+v", n, err, p.Response())
	}
}

// TestResponseAllocs: framing allocates nothing, in either chunked mode and
// when it fails. (It needs no !race build constraint: nothing on this path
// is instrumented into an allocation by the race detector.)
func TestResponseAllocs(t *testing.T) {
	plain := []byte(respPlaintext)
	pipelined := bytes.Repeat(plain, 16)
	chunked := []byte(respChunked)
	work := make([]byte, len(chunked))
	bad := []byte("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
	p := &ResponseParser{}
	cases := map[string]func(){
		"plaintext": func() {
			if _, err := p.Parse(plain, GET); err != nil {
				t.Fatal(err)
			}
		},
		"pipelined": func() {
			for buf := pipelined; len(buf) > 0; {
				n, err := p.Parse(buf, GET)
				if err != nil {
					t.Fatal(err)
				}
				buf = buf[n:]
			}
		},
		"split": func() {
			if _, err := p.Parse(plain[:40], GET); err != ErrNeedMore {
				t.Fatal(err)
			}
			if _, err := p.Parse(plain, GET); err != nil {
				t.Fatal(err)
			}
		},
		"chunked skipped": func() {
			p.DecodeChunked = false
			if _, err := p.Parse(chunked, GET); err != nil {
				t.Fatal(err)
			}
		},
		"chunked decoded": func() {
			copy(work, chunked)
			p.DecodeChunked = true
			if _, err := p.Parse(work, GET); err != nil {
				t.Fatal(err)
			}
			p.DecodeChunked = false
		},
		"reject": func() {
			p.Reset()
			if _, err := p.Parse(bad, GET); err == nil {
				t.Fatal("accepted")
			}
			p.Reset()
		},
	}
	for name, f := range cases {
		f()
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

// FuzzResponse checks the framer's invariants on any input: it never panics,
// never claims more than it was given, never writes at or past the length it
// returns, gives the same answer however the bytes are split and whether or
// not the buffer moves, frames a complete response identically from its
// prefix, and, wherever net/http also accepts the response, agrees with it on
// status and body.
func FuzzResponse(f *testing.F) {
	for _, s := range respValidInputs() {
		f.Add([]byte(s), uint16(len(s)/2), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n"), uint16(10), true)
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\nuntil close"), uint16(3), false)
	for _, r := range respRejects {
		if len(r.in) < 1024 {
			f.Add([]byte(r.in), uint16(len(r.in)/3), false)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16, head bool) {
		m := GET
		if head {
			m = HEAD
		}
		for _, decode := range []bool{false, true} {
			whole := bytes.Clone(in)
			p := &ResponseParser{DecodeChunked: decode, MaxHeadBytes: 4096}
			n, err := p.Parse(whole, m)
			want := respSnapshot(p, whole, n, err)
			if err == nil {
				r := p.Response()
				if n <= 0 || n > len(in) {
					t.Fatalf("framed %d of %d", n, len(in))
				}
				if !bytes.Equal(whole[n:], in[n:]) {
					t.Fatal("framer wrote past the response")
				}
				if !decode && !bytes.Equal(whole, in) {
					t.Fatal("framer wrote without DecodeChunked")
				}
				if r.Body != nil && int64(len(r.Body)) != r.BodyLen {
					t.Fatalf("body %d, BodyLen %d", len(r.Body), r.BodyLen)
				}
				if !r.Chunked && r.ContentLength >= 0 && r.Body != nil && len(r.Body) > 0 && int64(len(r.Body)) != r.ContentLength {
					t.Fatalf("body %d, Content-Length %d", len(r.Body), r.ContentLength)
				}
				// The same response again, framed by the same parser: its
				// head now comes from the memo, with the same result.
				again := bytes.Clone(in)
				na, erra := p.Parse(again, m)
				if got := respSnapshot(p, again, na, erra); got != want {
					t.Fatalf("framed again (memo):\ngot  %+v\nwant %+v", got, want)
				}
				p2 := &ResponseParser{DecodeChunked: decode, MaxHeadBytes: 4096}
				pre := bytes.Clone(in[:n])
				n2, err2 := p2.Parse(pre, m)
				if got := respSnapshot(p2, pre, n2, err2); got != want {
					t.Fatalf("prefix of length %d:\ngot  %+v\nwant %+v", n, got, want)
				}
			} else if err != ErrNeedMore {
				var e *ResponseError
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not a *ResponseError", err)
				}
			}
			c := 0
			if len(in) > 0 {
				c = int(cut) % (len(in) + 1)
			}
			p3 := &ResponseParser{DecodeChunked: decode, MaxHeadBytes: 4096}
			first := bytes.Clone(in[:c])
			n3, err3 := p3.Parse(first, m)
			if err3 == nil || err3 != ErrNeedMore {
				// Decided on the prefix: the whole input must say the same.
				got := respSnapshot(p3, first, n3, err3)
				if err3 != nil && got != want || err3 == nil && (want.err != "" || got != want) {
					t.Fatalf("prefix %d decided %+v, whole %+v", c, got, want)
				}
			} else {
				second := bytes.Clone(in)
				copy(second, first) // what the framer may have rewritten
				n4, err4 := p3.Parse(second, m)
				if got := respSnapshot(p3, second, n4, err4); got != want {
					t.Fatalf("split at %d:\ngot  %+v\nwant %+v", c, got, want)
				}
			}
		}
		if !head {
			compareNetHTTP(t, in)
		}
	})
}

// compareNetHTTP frames in the way a load generator would (reading to the
// end of input for a close-delimited body) and, when net/http accepts the
// same response, checks that both saw the same status and body.
func compareNetHTTP(t *testing.T, in []byte) {
	p := &ResponseParser{DecodeChunked: true, MaxHeadBytes: 4096}
	buf := bytes.Clone(in)
	n, err := p.Parse(buf, GET)
	if err == ErrNeedMore {
		n, err = p.EOF(buf, GET)
	}
	if err != nil || p.Response().Interim() {
		return
	}
	r := p.Response()
	res, herr := http.ReadResponse(bufio.NewReader(bytes.NewReader(in[:n])), nil)
	if herr != nil {
		return
	}
	body, berr := io.ReadAll(res.Body)
	if berr != nil {
		return // net/http disagrees on the framing within n bytes: stricter there
	}
	if res.StatusCode != r.Status || !bytes.Equal(body, r.Body) {
		t.Fatalf("net/http: %d %q; framer: %d %q (input %q)", res.StatusCode, body, r.Status, r.Body, in)
	}
}

func BenchmarkResponsePlaintext(b *testing.B) {
	buf := bytes.Repeat([]byte(respPlaintext), 16)
	p := &ResponseParser{}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		for rest := buf; len(rest) > 0; {
			n, err := p.Parse(rest, GET)
			if err != nil {
				b.Fatal(err)
			}
			rest = rest[n:]
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/response")
}
