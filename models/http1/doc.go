// Package http1 is iolab's one HTTP/1.1 implementation: an incremental,
// zero-allocation request parser over []byte and the response encoder. Every
// I/O model (models/netstd, models/epoll, models/uring) hands it the bytes it
// read and writes the bytes it produces, so that a difference between two
// models in a chart is a difference in how the kernel was asked for I/O, never
// in how HTTP was spoken. The package does no I/O of its own.
//
// # Parsing
//
// A Parser is fed the connection's input buffer, which must begin at the
// first byte of the request being parsed. Parse returns the number of bytes
// the request occupies (head and body) or ErrNeedMore when the buffer ends
// before the request does. The caller then reads more, appends it, and calls
// Parse again with the longer buffer; it may move the buffer (to grow or to
// compact it) between calls, because the parser remembers offsets, never
// pointers. Any number of pipelined requests are parsed one after another by
// slicing off the bytes each one used.
//
// The parser rewrites the body region of a chunked request in place: chunk
// data is moved over the chunk-size lines so that Request.Body is one
// contiguous slice. Bytes at or beyond the returned length are never touched.
//
// Views: Request fields of type []byte point into the buffer passed to Parse.
// They are valid until the next call to Parse or Reset, or until the caller
// modifies or moves the buffer, whichever comes first. Copy what must live
// longer.
//
// # Strictness
//
// The parser follows RFC 9112 where it says MUST and rejects, rather than
// repairs, anything that two implementations could frame differently, because
// that is what request smuggling exploits: both Content-Length and
// Transfer-Encoding, differing Content-Length values, a Transfer-Encoding whose
// final coding is not chunked, obs-fold, whitespace before a colon, bare CR or
// LF, control characters in names or values, a missing or repeated Host in
// HTTP/1.1, and malformed chunk framing. Each rejection is an *Error that
// carries the status code to answer with; the connection must be closed after
// that response, and nothing after a rejected request may be answered.
//
// # Responses
//
// A ResponseWriter appends one response to the connection's output buffer:
// status line, Server, Date (formatted once a second by a background ticker,
// not per request), Content-Type, Content-Length and Connection as needed. It
// knows the request it answers, so it omits the body for HEAD, 1xx, 204 and
// 304, and it says "Connection: close" when the connection is about to close.
package http1
