package http1

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
	// Headers are all header fields in the order received.
	Headers []Header
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
	// Body is the complete decoded body (empty when there is none).
	Body []byte
}

// IsHead reports a HEAD request, whose response carries no body.
func (r *Request) IsHead() bool { return string(r.Method) == "HEAD" }

// Header returns the value of the first field named name (compared without
// case; name must be lower case), or nil.
func (r *Request) Header(name string) []byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}
