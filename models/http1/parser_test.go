package http1

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// result is what a test compares: the request as plain values, or the error.
type result struct {
	N         int
	Method    string
	Target    string
	Path      string
	Query     string
	Version   string
	Host      string
	CL        int64
	Chunked   bool
	KeepAlive bool
	Continue  bool
	Body      string
	Headers   string
	Err       string
}

func snapshot(p *Parser, n int, err error) result {
	if err != nil {
		return result{Err: err.Error()}
	}
	r := p.Request()
	var h strings.Builder
	for i := range r.NumHeaders() {
		f := r.HeaderAt(i)
		fmt.Fprintf(&h, "%s=%s;", f.Name, f.Value)
	}
	return result{
		N: n, Method: string(r.Method), Target: string(r.Target), Path: string(r.Path),
		Query: string(r.Query), Version: fmt.Sprintf("%d.%d", r.Major, r.Minor),
		Host: string(r.Host), CL: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive,
		Continue: r.ExpectContinue, Body: string(r.Body), Headers: h.String(),
	}
}

// parseAll parses in once, from a fresh copy (the parser rewrites chunked
// bodies in place).
func parseAll(l Limits, in string) result {
	p := NewParser(l)
	n, err := p.Parse([]byte(in))
	return snapshot(p, n, err)
}

const host = "Host: example.com\r\n"

func TestParseValid(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want result
	}{
		{"plaintext", "GET /plaintext HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "GET", Target: "/plaintext", Path: "/plaintext", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"query", "GET /baseline?a=1&b=2 HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "GET", Target: "/baseline?a=1&b=2", Path: "/baseline", Query: "a=1&b=2", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"empty query", "GET /x? HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "GET", Target: "/x?", Path: "/x", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"query with encoded controls", "GET /f?t=a%0D%0Ab HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "GET", Target: "/f?t=a%0D%0Ab", Path: "/f", Query: "t=a%0D%0Ab", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"absolute-form", "GET http://other.example:8080/a/b?c HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "GET", Target: "http://other.example:8080/a/b?c", Path: "/a/b", Query: "c", Version: "1.1", Host: "other.example:8080", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"absolute-form no path", "GET HTTPS://h HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "GET", Target: "HTTPS://h", Path: "/", Version: "1.1", Host: "h", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"asterisk", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "OPTIONS", Target: "*", Path: "*", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
			result{Method: "CONNECT", Target: "example.com:443", Path: "example.com:443", Version: "1.1", Host: "example.com:443", CL: -1, KeepAlive: true, Headers: "Host=example.com:443;"}},
		{"ipv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
			result{Method: "GET", Target: "/", Path: "/", Version: "1.1", Host: "[::1]:8080", CL: -1, KeepAlive: true, Headers: "Host=[::1]:8080;"}},
		{"http/1.0 default close", "GET / HTTP/1.0\r\n\r\n",
			result{Method: "GET", Target: "/", Path: "/", Version: "1.0", CL: -1}},
		{"http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			result{Method: "GET", Target: "/", Path: "/", Version: "1.0", CL: -1, KeepAlive: true, Headers: "Connection=Keep-Alive;"}},
		{"http/1.1 close", "GET / HTTP/1.1\r\n" + host + "Connection: keep-alive, CLOSE\r\n\r\n",
			result{Method: "GET", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, Headers: "Host=example.com;Connection=keep-alive, CLOSE;"}},
		{"http/1.2 is 1.1", "GET / HTTP/1.2\r\n" + host + "\r\n",
			result{Method: "GET", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "GET", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
		{"value whitespace trimmed", "GET / HTTP/1.1\r\n" + "Host:\t example.com \t\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
			result{Method: "GET", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;X-Empty=;X-Obs=caf\xc3\xa9;"}},
		{"content-length", "POST /echo HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello",
			result{Method: "POST", Target: "/echo", Path: "/echo", Version: "1.1", Host: "example.com", CL: 5, KeepAlive: true, Body: "hello", Headers: "Host=example.com;Content-Length=5;"}},
		{"content-length zero", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: 0, KeepAlive: true, Headers: "Host=example.com;Content-Length=0;"}},
		{"content-length repeated equal", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\ncontent-length: 3\r\n\r\nabc",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: 3, KeepAlive: true, Body: "abc", Headers: "Host=example.com;Content-Length=3;content-length=3;"}},
		{"chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, Chunked: true, KeepAlive: true, Body: "hello world", Headers: "Host=example.com;Transfer-Encoding=chunked;"}},
		{"chunked upper hex, extensions, trailers", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: Chunked\r\n\r\n" +
			"A;name=value ; q=\"a \\\" b\"\r\n0123456789\r\n00000001\r\nx\r\n0;last\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, Chunked: true, KeepAlive: true, Body: "0123456789x", Headers: "Host=example.com;Transfer-Encoding=Chunked;"}},
		{"chunked empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, Chunked: true, KeepAlive: true, Headers: "Host=example.com;Transfer-Encoding=chunked;"}},
		{"te list with empty elements", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: , chunked,\r\n\r\n0\r\n\r\n",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: -1, Chunked: true, KeepAlive: true, Headers: "Host=example.com;Transfer-Encoding=, chunked,;"}},
		{"expect 100-continue", "POST / HTTP/1.1\r\n" + host + "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.1", Host: "example.com", CL: 1, KeepAlive: true, Continue: true, Body: "x", Headers: "Host=example.com;Expect=100-Continue;Content-Length=1;"}},
		{"expect ignored in 1.0", "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
			result{Method: "POST", Target: "/", Path: "/", Version: "1.0", CL: 1, Body: "x", Headers: "Expect=100-continue;Content-Length=1;"}},
		{"unknown method token", "M-SEARCH * HTTP/1.1\r\n" + host + "\r\n", result{Err: "http1: invalid request-target"}},
		{"extension method", "PURGE /x HTTP/1.1\r\n" + host + "\r\n",
			result{Method: "PURGE", Target: "/x", Path: "/x", Version: "1.1", Host: "example.com", CL: -1, KeepAlive: true, Headers: "Host=example.com;"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			if want.Err == "" {
				want.N = len(c.in)
			}
			if got := parseAll(Limits{}, c.in); got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// rejects lists requests that must be refused, with the kind they are refused
// as. Most come from RFC 9112 and the request-smuggling literature (CL.TE,
// TE.CL, TE.TE obfuscations, duplicate lengths, bare CR/LF, NUL, overflow).
var rejects = []struct {
	name string
	in   string
	kind ErrorKind
}{
	// request line
	{"bare LF after request line", "GET / HTTP/1.1\n" + host + "\r\n", KindLineEnding},
	{"bare CR after request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", KindLineEnding},
	{"two spaces after method", "GET  / HTTP/1.1\r\n" + host + "\r\n", KindRequestLine},
	{"two spaces before version", "GET /  HTTP/1.1\r\n" + host + "\r\n", KindRequestLine},
	{"tab as separator", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", KindRequestLine},
	{"leading space", " GET / HTTP/1.1\r\n" + host + "\r\n", KindRequestLine},
	{"whitespace-only line", "   \r\n\r\n", KindRequestLine},
	{"too many empty lines", strings.Repeat("\r\n", 5) + "GET / HTTP/1.1\r\n" + host + "\r\n", KindRequestLine},
	{"missing target", "GET HTTP/1.1\r\n" + host + "\r\n", KindRequestLine},
	{"http/0.9", "GET /\r\n", KindRequestLine},
	{"trailing space after version", "GET / HTTP/1.1 \r\n" + host + "\r\n", KindVersion},
	{"method with bad byte", "GE(T / HTTP/1.1\r\n" + host + "\r\n", KindMethod},
	{"method NUL", "\x00GET / HTTP/1.1\r\n" + host + "\r\n", KindMethod},
	{"binary garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", KindMethod},
	{"fragment", "GET /path#frag HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"space in target", "GET /pa th HTTP/1.1\r\n" + host + "\r\n", KindVersion},
	{"NUL in target", "GET /\x00test HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"non-ASCII target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"overlong UTF-8", "GET /\xc0\xaf HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"backslash", "GET /path\\file HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"bad percent", "GET /a%zz HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"encoded NUL in path", "GET /path%00.html HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"encoded CRLF in path", "GET /path%0d%0aX:%20y HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"encoded DEL in path", "GET /a%7F HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"asterisk with GET", "GET * HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", KindTarget},
	{"absolute-form other scheme", "GET ftp://h/ HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"absolute-form userinfo", "GET http://u@h/ HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"absolute-form empty authority", "GET http:///x HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"relative target", "GET a/b HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"connect without port", "CONNECT example.com HTTP/1.1\r\n" + host + "\r\n", KindTarget},
	{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n", KindVersion},
	{"version missing minor", "GET / HTTP/1\r\n" + host + "\r\n", KindVersion},
	{"version leading zeros", "GET / HTTP/01.01\r\n" + host + "\r\n", KindVersion},
	{"version whitespace", "GET / HTTP/ 1.1\r\n" + host + "\r\n", KindVersion},
	{"version two digits", "GET / HTTP/1.10\r\n" + host + "\r\n", KindVersion},
	{"version 2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", KindVersionUnsupported},
	{"version 9.9", "GET / HTTP/9.9\r\n" + host + "\r\n", KindVersionUnsupported},
	{"version 0.9", "GET / HTTP/0.9\r\n" + host + "\r\n", KindVersionUnsupported},
	// header fields
	{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-Test: value\r\n continued\r\n\r\n", KindObsFold},
	{"tab fold", "GET / HTTP/1.1\r\n" + host + "X-Test: value\r\n\tcontinued\r\n\r\n", KindObsFold},
	{"whitespace before first field", "GET / HTTP/1.1\r\n \r\n" + host + "\r\n", KindObsFold},
	{"space before colon", "GET / HTTP/1.1\r\n" + host + "X-Test : value\r\n\r\n", KindSpaceBeforeColon},
	{"tab in name", "GET / HTTP/1.1\r\n" + host + "Content\tLength: 99\r\n\r\n", KindSpaceBeforeColon},
	{"empty name", "GET / HTTP/1.1\r\n" + host + ": empty-name\r\n\r\n", KindHeaderName},
	{"bad name byte", "GET / HTTP/1.1\r\n" + host + "Bad[Name: value\r\n\r\n", KindHeaderName},
	{"non-ASCII name", "GET / HTTP/1.1\r\n" + host + "X-T\xc3\xabst: value\r\n\r\n", KindHeaderName},
	{"no colon", "GET / HTTP/1.1\r\n" + host + "NoColonHere\r\n\r\n", KindHeaderName},
	{"bare LF in fields", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", KindLineEnding},
	{"bare CR in value", "GET / HTTP/1.1\r\n" + host + "X-Test: val\rue\r\n\r\n", KindLineEnding},
	{"bare LF empty line", "GET / HTTP/1.1\r\n" + host + "\n", KindLineEnding},
	{"NUL in value", "GET / HTTP/1.1\r\n" + host + "X-Test: val\x00ue\r\n\r\n", KindHeaderValue},
	{"controls in value", "GET / HTTP/1.1\r\n" + host + "X-Test: abc\x07\x08\x0bdef\r\n\r\n", KindHeaderValue},
	{"DEL in value", "GET / HTTP/1.1\r\n" + host + "X-Test: a\x7fb\r\n\r\n", KindHeaderValue},
	{"duplicate content-type", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n\r\nhello", KindHeaderValue},
	// Host
	{"missing host", "GET / HTTP/1.1\r\n\r\n", KindHost},
	{"duplicate host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", KindHost},
	{"duplicate host same", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", KindHost},
	{"duplicate host 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", KindHost},
	{"empty host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", KindHost},
	{"host userinfo", "GET / HTTP/1.1\r\nHost: user@localhost:8080\r\n\r\n", KindHost},
	{"host path", "GET / HTTP/1.1\r\nHost: localhost:8080/path\r\n\r\n", KindHost},
	{"host list", "GET / HTTP/1.1\r\nHost: localhost:8080, other.example.com\r\n\r\n", KindHost},
	{"host bad port", "GET / HTTP/1.1\r\nHost: h:8o\r\n\r\n", KindHost},
	{"host unclosed literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", KindHost},
	// Content-Length
	{"cl non-numeric", "POST / HTTP/1.1\r\n" + host + "Content-Length: abc\r\n\r\n", KindContentLength},
	{"cl plus", "POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\nhello", KindContentLength},
	{"cl negative", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", KindContentLength},
	{"cl negative zero", "POST / HTTP/1.1\r\n" + host + "Content-Length: -0\r\n\r\n", KindContentLength},
	{"cl empty", "POST / HTTP/1.1\r\n" + host + "Content-Length: \r\n\r\n", KindContentLength},
	{"cl hex", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x5\r\n\r\nhello", KindContentLength},
	{"cl octal", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0o5\r\n\r\nhello", KindContentLength},
	{"cl leading zeros", "POST / HTTP/1.1\r\n" + host + "Content-Length: 005\r\n\r\nhello", KindContentLength},
	{"cl double zero", "POST / HTTP/1.1\r\n" + host + "Content-Length: 00\r\n\r\n", KindContentLength},
	{"cl underscore", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1_0\r\n\r\nhelloworld", KindContentLength},
	{"cl internal space", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 0\r\n\r\nhello12345", KindContentLength},
	{"cl list same", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 5\r\n\r\nhello", KindContentLength},
	{"cl list different", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 10\r\n\r\nhello", KindContentLength},
	{"cl overflow", "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n", KindContentLength},
	{"cl duplicate different", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 10\r\n\r\nhelloworld", KindContentLengthConflict},
	// Transfer-Encoding
	{"cl.te", "POST / HTTP/1.1\r\n" + host + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", KindContentLengthAndTE},
	{"te.cl", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n", KindContentLengthAndTE},
	{"te.te case", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: Chunked\r\nContent-Length: 5\r\n\r\nhello", KindContentLengthAndTE},
	{"te trailing space with cl", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked \r\nContent-Length: 5\r\n\r\nhello", KindContentLengthAndTE},
	{"te xchunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\nhello", KindTransferEncoding},
	{"te identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\nhello", KindTransferEncoding},
	{"te gzip alone", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", KindTransferEncoding},
	{"te chunked not final", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", KindTransferEncoding},
	{"te chunked twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", KindTransferEncoding},
	{"te split across fields", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n", KindTransferEncoding},
	{"te empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \r\n\r\n", KindTransferEncoding},
	{"te chunked with parameter", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;ext=val\r\n\r\n0\r\n\r\n", KindTransferEncoding},
	{"te in http/1.0", "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", KindTransferEncoding},
	{"te unknown before chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", KindTransferCodingUnknown},
	{"te vertical tab", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", KindHeaderValue},
	{"te form feed", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \x0cchunked\r\n\r\n0\r\n\r\n", KindHeaderValue},
	{"te NUL", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n", KindHeaderValue},
	{"te obs-fold", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", KindObsFold},
	{"te space before colon", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", KindSpaceBeforeColon},
	// chunked framing
	{"chunk size of 17 digits", chunkedReq("00000000000000005\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk bare semicolon", chunkedReq("5;\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk ext bad token", chunkedReq("5;bad[=x\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk ext NUL", chunkedReq("5;\x00ext\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk ext bare CR", chunkedReq("5;a\rX\r\nhello\r\n0\r\n\r\n"), KindLineEnding},
	{"chunk ext bare LF", chunkedReq("5;\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk ext unterminated quote", chunkedReq("5;a=\"x\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk ext value missing", chunkedReq("5;a=\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk underscore", chunkedReq("1_0\r\nhello world!!!!!\r\n0\r\n\r\n"), KindChunk},
	{"chunk hex prefix", chunkedReq("0x5\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk plus", chunkedReq("+5\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk negative", chunkedReq("-1\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk leading space", chunkedReq(" 5\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk trailing space", chunkedReq("5 \r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk missing size", chunkedReq("\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk bare CR terminator", chunkedReq("5\rhello\r\n0\r\n\r\n"), KindLineEnding},
	{"chunk bare LF terminator", chunkedReq("5\nhello\r\n0\r\n\r\n"), KindLineEnding},
	{"chunk data without CRLF", chunkedReq("5\r\nhello0\r\n\r\n"), KindChunk},
	{"chunk data too long", chunkedReq("5\r\nhello!!\r\n0\r\n\r\n"), KindChunk},
	{"chunk data bare LF", chunkedReq("5\r\nhello\n0\r\n\r\n"), KindChunk},
	{"chunk last bare LF", chunkedReq("5\r\nhello\r\n0\r\n\n"), KindLineEnding},
	{"chunk size overflow", chunkedReq("FFFFFFFFFFFFFFFF0\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"chunk invalid size then data", chunkedReq("+0\r\n\r\nX"), KindChunk},
	{"chunk ext too long", chunkedReq("5;ext=" + strings.Repeat("a", 65536) + "\r\nhello\r\n0\r\n\r\n"), KindChunk},
	{"trailer content-length", chunkedReq("5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n"), KindTrailer},
	{"trailer transfer-encoding", chunkedReq("5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"), KindTrailer},
	{"trailer host", chunkedReq("5\r\nhello\r\n0\r\nHost: evil.example.com\r\n\r\n"), KindTrailer},
	{"trailer authorization", chunkedReq("5\r\nhello\r\n0\r\nAuthorization: Bearer evil\r\n\r\n"), KindTrailer},
	{"trailer obs-fold", chunkedReq("5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n"), KindObsFold},
	// Expect
	{"expect unknown", "GET / HTTP/1.1\r\n" + host + "Expect: 200-ok\r\n\r\n", KindExpectation},
}

func chunkedReq(body string) string {
	return "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n" + body
}

func TestParseRejects(t *testing.T) {
	for _, c := range rejects {
		t.Run(c.name, func(t *testing.T) {
			got := parseAll(Limits{}, c.in)
			if want := c.kind.Err().Error(); got.Err != want {
				t.Fatalf("got %+v, want error %q", got, want)
			}
			if s := c.kind.Err().Status; s < 400 || s > 599 {
				t.Fatalf("status %d is not an error", s)
			}
		})
	}
}

// TestParseRejectsAreSticky checks that once a request is rejected the parser
// keeps refusing: nothing after a rejected request is ever parsed.
func TestParseRejectsAreSticky(t *testing.T) {
	p := NewParser(Limits{})
	in := []byte("GET / HTTP/1.1\r\n" + host + "X : y\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n")
	_, err1 := p.Parse(in)
	_, err2 := p.Parse(in[len(in)/2:])
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v then %v, want the same error twice", err1, err2)
	}
}

func TestLimits(t *testing.T) {
	l := Limits{MaxRequestLine: 64, MaxHeaderBytes: 128, MaxHeaders: 3, MaxBody: 10}
	cases := []struct {
		name string
		in   string
		kind ErrorKind // 0xff: accepted
	}{
		{"line at limit", "GET /" + strings.Repeat("a", 64-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\n" + host + "\r\n", 0xff},
		{"line over limit", "GET /" + strings.Repeat("a", 65-len("GET / HTTP/1.1\r\n")) + " HTTP/1.1\r\n" + host + "\r\n", KindRequestLineTooLong},
		{"target never ends", "GET /" + strings.Repeat("a", 200), KindRequestLineTooLong},
		{"method never ends", strings.Repeat("A", 200), KindMethod},
		{"version never ends", "GET / HTTP/1.1" + strings.Repeat("1", 100), KindVersion},
		{"fields at count limit", "GET / HTTP/1.1\r\n" + host + "A: 1\r\nB: 2\r\n\r\n", 0xff},
		{"too many fields", "GET / HTTP/1.1\r\n" + host + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", KindHeaderTooLarge},
		{"header bytes over", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("b", 128) + "\r\n\r\n", KindHeaderTooLarge},
		{"header never ends", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("b", 200), KindHeaderTooLarge},
		{"long name never ends", "GET / HTTP/1.1\r\n" + strings.Repeat("N", 200), KindHeaderTooLarge},
		{"body at limit", "POST / HTTP/1.1\r\n" + host + "Content-Length: 10\r\n\r\n0123456789", 0xff},
		{"body over limit", "POST / HTTP/1.1\r\n" + host + "Content-Length: 11\r\n\r\n", KindBodyTooLarge},
		{"chunked at limit", chunkedReq("5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n"), 0xff},
		{"chunked over limit", chunkedReq("5\r\n01234\r\n6\r\n"), KindBodyTooLarge},
		{"trailers over limit", chunkedReq("0\r\nX: " + strings.Repeat("t", 130) + "\r\n\r\n"), KindHeaderTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseAll(l, c.in)
			if c.kind == 0xff {
				if got.Err != "" {
					t.Fatalf("rejected: %v", got.Err)
				}
				return
			}
			if want := c.kind.Err().Error(); got.Err != want {
				t.Fatalf("got %+v, want %q", got, want)
			}
		})
	}
	if m := DefaultLimits().MaxHead(); m < DefaultMaxRequestLine+DefaultMaxHeaderBytes {
		t.Fatalf("MaxHead %d below its parts", m)
	}
}

// parseSplit feeds in to one parser in the pieces given by cuts, copying the
// accumulated bytes to a new buffer before every call, as a core that grows or
// compacts its buffer would. Every call before the last must ask for more,
// unless the request was rejected early.
func parseSplit(t *testing.T, in string, cuts []int) result {
	t.Helper()
	p := NewParser(Limits{})
	var acc []byte
	prev := 0
	for _, c := range append(cuts, len(in)) {
		acc = append(bytes.Clone(acc), in[prev:c]...) // moved on every call
		prev = c
		n, err := p.Parse(acc)
		if errors.Is(err, ErrNeedMore) {
			continue
		}
		return snapshot(p, n, err)
	}
	return result{Err: ErrNeedMore.Error()}
}

// TestParseSplitAnywhere: a request split at any byte, or delivered one byte
// at a time into a buffer that moves on every read, parses exactly as when it
// arrives whole; and a rejected one is rejected the same way.
func TestParseSplitAnywhere(t *testing.T) {
	inputs := []string{
		"GET /plaintext HTTP/1.1\r\n" + host + "Accept: text/plain\r\nConnection: keep-alive\r\n\r\n",
		"POST /echo HTTP/1.1\r\n" + host + "Content-Length: 11\r\n\r\nhello world",
		chunkedReq("5;a=\"b\"\r\nhello\r\n6\r\n world\r\n0\r\nX-T: v\r\n\r\n"),
		"\r\nGET http://h:1/x?y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	}
	for _, r := range rejects {
		if len(r.in) < 1000 {
			inputs = append(inputs, r.in)
		}
	}
	for _, in := range inputs {
		want := parseAll(Limits{}, in)
		for i := 0; i <= len(in); i++ {
			if got := parseSplit(t, in, []int{i}); got != want {
				t.Fatalf("split at %d of %q:\ngot  %+v\nwant %+v", i, in, got, want)
			}
		}
		cuts := make([]int, len(in))
		for i := range cuts {
			cuts[i] = i
		}
		if got := parseSplit(t, in, cuts); got != want {
			t.Fatalf("byte by byte %q:\ngot  %+v\nwant %+v", in, got, want)
		}
	}
}

func TestParsePipelined(t *testing.T) {
	var in []byte
	const n = 100
	for i := 0; i < n; i++ {
		switch i % 3 {
		case 0:
			in = fmt.Appendf(in, "GET /r%d HTTP/1.1\r\n%s\r\n", i, host)
		case 1:
			in = fmt.Appendf(in, "POST /r%d HTTP/1.1\r\n%sContent-Length: 3\r\n\r\nb%02d", i, host, i)
		case 2:
			in = fmt.Appendf(in, "POST /r%d HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n2\r\n%02d\r\n0\r\n\r\n", i, host, i)
		}
	}
	in = append(in, "GET /partial HTTP/1.1\r\nHo"...)
	p := NewParser(Limits{})
	buf := in
	for i := 0; i < n; i++ {
		k, err := p.Parse(buf)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		r := p.Request()
		if got, want := string(r.Path), fmt.Sprintf("/r%d", i); got != want {
			t.Fatalf("request %d: path %q, want %q", i, got, want)
		}
		var body string
		switch i % 3 {
		case 1:
			body = fmt.Sprintf("b%02d", i)
		case 2:
			body = fmt.Sprintf("c%02d", i)
		}
		if string(r.Body) != body {
			t.Fatalf("request %d: body %q, want %q", i, r.Body, body)
		}
		buf = buf[k:]
	}
	if _, err := p.Parse(buf); err != ErrNeedMore {
		t.Fatalf("tail: %v, want ErrNeedMore", err)
	}
	if string(buf) != "GET /partial HTTP/1.1\r\nHo" {
		t.Fatalf("tail %q", buf)
	}
}

func TestContinue(t *testing.T) {
	head := "POST / HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"
	p := NewParser(Limits{})
	if _, err := p.Parse([]byte(head[:20])); err != ErrNeedMore || p.TakeContinue() {
		t.Fatal("continue before the head is complete")
	}
	if _, err := p.Parse([]byte(head)); err != ErrNeedMore {
		t.Fatal(err)
	}
	if !p.TakeContinue() || p.TakeContinue() {
		t.Fatal("want exactly one continue once the head is complete")
	}
	if _, err := p.Parse([]byte(head + "hello")); err != nil || string(p.Request().Body) != "hello" {
		t.Fatal("body after continue", err)
	}
	// Body already sent with the head: no 100 Continue (RFC 9110 §10.1.1).
	p.Reset()
	if _, err := p.Parse([]byte(head + "he")); err != ErrNeedMore || p.TakeContinue() {
		t.Fatal("continue although the body has started")
	}
}

func TestNeedAndInHead(t *testing.T) {
	head := "POST / HTTP/1.1\r\n" + host + "Content-Length: 100\r\n\r\n"
	p := NewParser(Limits{})
	p.Parse([]byte(head[:10]))
	if !p.InHead() || p.Need() != 0 {
		t.Fatal("in head")
	}
	p.Parse([]byte(head + "abc"))
	if p.InHead() || p.Need() != len(head)+100 {
		t.Fatalf("need %d, want %d", p.Need(), len(head)+100)
	}
}

func TestRequestHeaderLookup(t *testing.T) {
	p := NewParser(Limits{})
	if _, err := p.Parse([]byte("GET / HTTP/1.1\r\n" + host + "X-A: 1\r\nx-b: 2\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	r := p.Request()
	if string(r.Header("x-a")) != "1" || string(r.Header("x-b")) != "2" || r.Header("x-c") != nil {
		t.Fatal("header lookup")
	}
}

func TestErrorKinds(t *testing.T) {
	seen := map[string]bool{}
	for k := ErrorKind(0); k < NumErrorKinds; k++ {
		e := k.Err()
		if e.Kind != k || e.Reason == "" || e.Status < 400 || k.Name() == "" || seen[k.Name()] {
			t.Fatalf("kind %d: %+v %q", k, e, k.Name())
		}
		seen[k.Name()] = true
	}
	if NumErrorKinds.Name() != "unknown" {
		t.Fatal("out of range name")
	}
}

// TestMemo: a parser reusing the previous request's header section gives
// exactly what parsing it afresh gives, and notices any difference.
func TestMemo(t *testing.T) {
	head := "Host: example.com\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
	seq := []string{
		"POST /a HTTP/1.1\r\n" + head + "abc",
		"POST /b?x=1 HTTP/1.1\r\n" + head + "def", // same section, another line
		"POST /c HTTP/1.0\r\n" + head + "ghi",     // same section: 1.0 ignores Expect, closes
		"POST /a HTTP/1.1\r\n" + strings.Replace(head, "3\r\n", "4\r\n", 1) + "abcd",
		"POST /a HTTP/1.1\r\n" + head + "abc",
		"GET http://other:81/x HTTP/1.1\r\n" + head + "xyz", // Host from the target
		"POST /a HTTP/1.1\r\n" + strings.Replace(head, "Host: example.com\r\n", "Host: a\r\nHost: b\r\n", 1) + "abc",
	}
	p := NewParser(Limits{})
	for i, in := range seq {
		n, err := p.Parse([]byte(in))
		got := snapshot(p, n, err)
		if want := parseAll(Limits{}, in); got != want {
			t.Fatalf("request %d:\ngot  %+v\nwant %+v", i, got, want)
		}
		if err != nil {
			p = NewParser(Limits{}) // a rejected request ends the connection
		}
	}
}

// FuzzParseSequence: one parser reading requests one after another (and so
// reusing what it remembers of the last) agrees with a fresh parser for each.
func FuzzParseSequence(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), []byte(s))
	}
	f.Add([]byte(techEmpowerRequest), []byte(strings.Replace(techEmpowerRequest, "tfb-server", "tfb-servex", 1)))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		stream := append(bytes.Clone(a), b...)
		p := NewParser(Limits{MaxBody: 1 << 16})
		for off := 0; off < len(stream); {
			fresh := NewParser(Limits{MaxBody: 1 << 16})
			n, err := p.Parse(bytes.Clone(stream[off:]))
			got := snapshot(p, n, err)
			n2, err2 := fresh.Parse(bytes.Clone(stream[off:]))
			if want := snapshot(fresh, n2, err2); got != want {
				t.Fatalf("at %d:\ngot  %+v\nwant %+v", off, got, want)
			}
			if err != nil {
				return
			}
			off += n
		}
	})
}
