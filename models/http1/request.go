package http1

import "io"

// Header is one field line, as views into the parser's buffer. Value has
// leading and trailing whitespace removed.
type Header struct {
	Name, Value []byte
}

// Request is a parsed request. Every []byte is a view into the buffer passed
// to Parser.Parse and is valid only until the next call to Parse or Reset, or
// until the caller modifies or moves that buffer.
type Request struct {
	Method []byte
	// MethodID classifies Method, so handlers switch on it instead of
	// comparing bytes.
	MethodID Method
	// Target is the request-target as sent: origin-form ("/a?b"),
	// absolute-form ("http://h/a?b"), asterisk-form ("*", OPTIONS only) or
	// authority-form ("h:443", CONNECT only).
	Target []byte
	// Path and Query split the target; Query excludes the "?". For
	// absolute-form, Path is the part after the authority ("/" when empty).
	// For asterisk- and authority-form, Path is the whole target.
	Path, Query []byte
	// Major and Minor are the HTTP version: 1.0 or 1.1 (1.x above 1 is
	// treated as 1.1, as RFC 9110 §2.5 says).
	Major, Minor uint8
	// Host is the Host field value, or the authority of an absolute-form
	// target, which takes precedence (RFC 9112 §3.2.2).
	Host []byte
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports Transfer-Encoding: chunked.
	Chunked bool
	// KeepAlive reports whether the connection may carry another request
	// (RFC 9112 §9.3): HTTP/1.1 unless "Connection: close", HTTP/1.0 only
	// with "Connection: keep-alive".
	KeepAlive bool
	// ExpectContinue reports "Expect: 100-continue" on an HTTP/1.1 request.
	ExpectContinue bool
	// Body is the complete decoded body (empty when there is none, and
	// when the body was streamed).
	Body []byte
	// BodySize is the decoded body's length: len(Body), or for a streamed
	// body the bytes handed over in pieces so far.
	BodySize int64
	// Streamed reports a body taken in pieces (Parser.StreamBody) rather
	// than whole; the head's views then point into the parser's memory.
	Streamed bool
	// BodyStream, when not nil, delivers a streamed body to a handler that
	// runs off the connection's thread and reads it as it arrives (models'
	// offload mode); Body is then empty.
	BodyStream io.Reader

	// The header fields, as offsets into raw: views are made only for the
	// fields a handler asks for, and most ask for none.
	raw     []byte
	headLen int
	fields  []field
}

// Head is the request's head as received, request line to the empty line:
// Method, Target, Path, Query, Host and the header fields are views into
// it (Path may also be a constant "/").
func (r *Request) Head() []byte { return r.raw[:r.headLen:r.headLen] }

// NumHeaders is the number of header fields.
func (r *Request) NumHeaders() int { return len(r.fields) }

// HeaderAt returns the i-th header field, in the order received.
func (r *Request) HeaderAt(i int) Header {
	f := &r.fields[i]
	return Header{r.raw[f.name.off:f.name.end], r.raw[f.value.off:f.value.end]}
}

// Header returns the value of the first field named name (compared without
// case; name must be lower case), or nil.
func (r *Request) Header(name string) []byte {
	for i := range r.fields {
		f := &r.fields[i]
		if equalFold(r.raw[f.name.off:f.name.end], name) {
			return r.raw[f.value.off:f.value.end]
		}
	}
	return nil
}

// IsHead reports a HEAD request, whose response carries no body.
func (r *Request) IsHead() bool { return r.MethodID == HEAD }

// Method identifies the methods of RFC 9110 and PATCH; every other method is
// Other (and still valid: Request.Method says which).
type Method uint8

// Methods.
const (
	Other Method = iota
	GET
	HEAD
	POST
	PUT
	DELETE
	CONNECT
	OPTIONS
	TRACE
	PATCH
)

var methodNames = [...]string{"", "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}

// String is the method's name ("" for Other).
func (m Method) String() string { return methodNames[m] }

// methodOf classifies a method token; methods are case-sensitive.
func methodOf(b []byte) Method {
	switch string(b) {
	case "GET":
		return GET
	case "HEAD":
		return HEAD
	case "POST":
		return POST
	case "PUT":
		return PUT
	case "DELETE":
		return DELETE
	case "CONNECT":
		return CONNECT
	case "OPTIONS":
		return OPTIONS
	case "TRACE":
		return TRACE
	case "PATCH":
		return PATCH
	}
	return Other
}
