package http1

import (
	"errors"
	"strconv"
)

// ServerName is the Server header every iolab core sends.
const ServerName = "iolab"

// Continue is the interim response to "Expect: 100-continue".
const Continue = "HTTP/1.1 100 Continue\r\n\r\n"

// ResponseWriter appends the response to one request to the connection's
// output buffer. A handler calls Header any number of times, then Write (or
// WriteString) once; a second Write is ignored. The writer is reused for
// every request of a connection, so nothing it holds is allocated per request.
type ResponseWriter struct {
	// Scratch is a buffer a handler may build a body in and pass to Write;
	// it keeps its capacity from request to request. Reassign it after
	// appending (w.Scratch = append(w.Scratch[:0], ...)) so growth is kept.
	Scratch []byte

	out     []byte
	extra   []byte // extra header lines of the response in progress
	head    bool   // answering HEAD: no body
	http10  bool   // answering HTTP/1.0: keep-alive must be said
	close   bool   // the connection closes after this response
	written bool
	status  int

	// A body that follows its head in pieces (WriteHeader, WriteBody).
	framing framing
	left    int64 // fixedLength: body bytes still owed
	carrier Carrier
	files   bool // the connection can send a file segment itself (SendFile)
	file    FileSegment

	// The head of the last 200 response with a body, up to and including
	// "Content-Length: ", and what it was built from: a connection answering
	// the same way request after request copies it in one piece, and builds
	// it again only when the second (and so the Date) changes.
	cached     []byte
	cachedType string
	cachedDate *dateLines
}

// framing is how a body written in pieces is delimited.
type framing uint8

const (
	whole       framing = iota // Write: the body in one piece, Content-Length
	fixedLength                // WriteHeader with a length: Content-Length, then pieces
	chunked                    // WriteHeader without a length, HTTP/1.1: chunked coding
	untilClose                 // WriteHeader without a length, HTTP/1.0: the close ends it
	noPieces                   // HEAD, 1xx, 204, 304: pieces are dropped
)

// Carrier is the connection's side of a response written off its thread
// (models' offload mode). Flush takes the output so far to the connection,
// so that a handler sends its body as it makes it, and returns the buffer
// to go on appending to. MustClose reports, when the head is written, that
// the connection will close after this response (it is stopping, or the
// request's body broke a limit), so that the head says so.
type Carrier interface {
	Flush(out []byte) []byte
	MustClose() bool
}

// FileSegment is part of a file that the connection sends itself, after
// the output before it, without the bytes passing through a buffer
// (sendfile, splice): see ResponseWriter.SendFile.
type FileSegment struct {
	FD        int
	Off, Size int64
}

// ErrBodyLength is what WriteBody says when a body runs past the length
// WriteHeader declared: the excess is dropped.
var ErrBodyLength = errors.New("http1: body longer than its declared Content-Length")

// Begin starts the response to req, to be appended to out. closing reports
// that the connection will close after it (the response then says so).
func (w *ResponseWriter) Begin(out []byte, req *Request, closing bool) {
	w.out = out
	w.extra = w.extra[:0]
	w.head = req.IsHead()
	w.http10 = req.Minor == 0
	w.close = closing
	w.written = false
	w.status = 0
	w.framing, w.left, w.carrier, w.file = whole, 0, nil, FileSegment{}
}

// End returns the output buffer with the response appended, and its status
// (0 when the handler wrote nothing). A chunked body gets its last chunk; a
// body shorter than its declared length makes the connection close, since
// nothing else could tell the client where the response ends.
func (w *ResponseWriter) End() ([]byte, int) {
	switch {
	case w.framing == chunked:
		w.out = append(w.out, "0\r\n\r\n"...)
	case w.framing == fixedLength && w.left > 0:
		w.close = true
	}
	w.framing = whole
	out := w.out
	w.out = nil
	return out, w.status
}

// SetCarrier makes Flush hand the output over to c, and the head ask c
// whether to close (until the next Begin).
func (w *ResponseWriter) SetCarrier(c Carrier) { w.carrier = c }

// SetFiles says whether the connection can send a FileSegment itself.
func (w *ResponseWriter) SetFiles(on bool) { w.files = on }

// Files reports what SetFiles said.
func (w *ResponseWriter) Files() bool { return w.files }

// Written reports whether the response's head has been written.
func (w *ResponseWriter) Written() bool { return w.written }

// Status is the status written, or 0.
func (w *ResponseWriter) Status() int { return w.status }

// File returns the file segment SendFile left for the connection to send
// after the output, if any.
func (w *ResponseWriter) File() (FileSegment, bool) { return w.file, w.file.Size > 0 }

// Closing reports whether the response will say "Connection: close".
func (w *ResponseWriter) Closing() bool { return w.close }

// SetClose makes this response close the connection.
func (w *ResponseWriter) SetClose() { w.close = true }

// Header adds a header line to the response. name must be a valid field
// name; a value containing CR or LF is dropped, so a handler cannot be made to
// split a response.
func (w *ResponseWriter) Header(name, value string) { addHeader(w, name, value) }

// HeaderBytes is Header with the value as bytes (a view into the request, for
// instance), so that echoing a field allocates nothing.
func (w *ResponseWriter) HeaderBytes(name string, value []byte) { addHeader(w, name, value) }

func addHeader[V string | []byte](w *ResponseWriter, name string, value V) {
	for i := 0; i < len(value); i++ {
		if value[i] == '\r' || value[i] == '\n' {
			return
		}
	}
	w.extra = append(w.extra, name...)
	w.extra = append(w.extra, ": "...)
	w.extra = append(w.extra, value...)
	w.extra = append(w.extra, "\r\n"...)
}

// Write appends the response: status line, Server, Date, Content-Type (when
// not empty), Content-Length, Connection when needed, the extra headers and
// body. For HEAD the body is measured but not sent; 1xx, 204 and 304 carry
// neither body nor Content-Length (RFC 9110 §8.6, §15).
func (w *ResponseWriter) Write(status int, contentType string, body []byte) {
	if w.written {
		return
	}
	w.written, w.status = true, status
	if w.carrier != nil && w.carrier.MustClose() {
		w.close = true
	}
	noBody := status < 200 || status == 204 || status == 304
	b := w.out
	if status == 200 && !noBody {
		if d := clock(); d != w.cachedDate || contentType != w.cachedType {
			w.cached = append(w.cached[:0], "HTTP/1.1 200 OK\r\nServer: "+ServerName...)
			if contentType != "" {
				w.cached = append(w.cached, "\r\nContent-Type: "...)
				w.cached = append(w.cached, contentType...)
			}
			w.cached = append(w.cached, d.dateLine[:]...)
			w.cachedDate, w.cachedType = d, contentType
		}
		b = append(b, w.cached...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
	} else {
		b = w.appendHead(b, status, contentType, noBody, len(body))
	}
	b = w.appendTail(b)
	if !noBody && !w.head {
		b = append(b, body...)
	}
	w.out = b
}

// appendTail ends a head: the Connection line when needed, the extra
// header lines, the empty line.
func (w *ResponseWriter) appendTail(b []byte) []byte {
	switch {
	case w.close:
		b = append(b, "\r\nConnection: close"...)
	case w.http10:
		b = append(b, "\r\nConnection: keep-alive"...)
	}
	if len(w.extra) == 0 {
		return append(b, "\r\n\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, w.extra...)
	return append(b, "\r\n"...)
}

// WriteHeader writes the head of a response whose body follows in pieces
// (WriteBody), of length n, or of a length not known yet when n < 0: then
// an HTTP/1.1 body is chunked, and an HTTP/1.0 one ends when the connection
// closes. Like Write, it is ignored after the first write.
func (w *ResponseWriter) WriteHeader(status int, contentType string, n int64) {
	if w.written {
		return
	}
	noBody := status < 200 || status == 204 || status == 304
	if noBody {
		w.Write(status, contentType, nil)
		w.framing = noPieces
		return
	}
	w.written, w.status = true, status
	if w.carrier != nil && w.carrier.MustClose() {
		w.close = true
	}
	b := w.out
	switch {
	case n >= 0:
		b = w.appendHead(b, status, contentType, false, int(n))
		w.framing, w.left = fixedLength, n
	case w.http10:
		b = w.appendHead(b, status, contentType, true, 0)
		w.close = true
		w.framing = untilClose
	default:
		b = w.appendHead(b, status, contentType, true, 0)
		b = append(b, "\r\nTransfer-Encoding: chunked"...)
		w.framing = chunked
	}
	if w.head {
		w.framing = noPieces
	}
	w.out = w.appendTail(b)
}

// WriteBody appends a piece of the body whose head WriteHeader wrote. A
// piece beyond a declared length is dropped, and ErrBodyLength says so.
func (w *ResponseWriter) WriteBody(p []byte) error {
	switch w.framing {
	case fixedLength:
		if int64(len(p)) > w.left {
			w.out = append(w.out, p[:w.left]...)
			w.left = 0
			return ErrBodyLength
		}
		w.out = append(w.out, p...)
		w.left -= int64(len(p))
	case chunked:
		if len(p) > 0 {
			w.out = strconv.AppendInt(w.out, int64(len(p)), 16)
			w.out = append(w.out, "\r\n"...)
			w.out = append(w.out, p...)
			w.out = append(w.out, "\r\n"...)
		}
	case untilClose:
		w.out = append(w.out, p...)
	}
	return nil
}

// SendFile ends a body of declared length with size bytes of the open file
// fd from off, sent by the connection itself after the output so far
// (sendfile or splice: no copy through a buffer). It reports false when the
// connection cannot (then the caller writes the bytes with WriteBody); the
// descriptor must stay open until the response has been sent.
func (w *ResponseWriter) SendFile(fd int, off, size int64) bool {
	switch {
	case w.framing == noPieces:
		return true // HEAD: nothing to send
	case !w.files || w.framing != fixedLength || size != w.left || size <= 0:
		return false
	}
	w.file = FileSegment{FD: fd, Off: off, Size: size}
	w.left = 0
	return true
}

// Flush hands the output so far to the connection when the handler runs off
// its thread; on the connection's own thread it does nothing, the output
// going out once the handler returns.
func (w *ResponseWriter) Flush() {
	if w.carrier != nil {
		w.out = w.carrier.Flush(w.out)
	}
}

// appendHead appends the status line and the Server, Content-Type, Date
// and Content-Length lines, without the CRLF that ends the last.
func (w *ResponseWriter) appendHead(b []byte, status int, contentType string, noBody bool, n int) []byte {
	if status == 200 {
		b = append(b, "HTTP/1.1 200 OK\r\nServer: "+ServerName...)
	} else {
		b = appendStatusLine(b, status)
		b = append(b, "Server: "+ServerName...)
	}
	if contentType != "" {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, contentType...)
	}
	// The Date line and the name of the next one come preformatted, in one
	// copy, from the clock.
	if noBody {
		return append(b, clock().dateLine[:len("\r\nDate: ")+dateLen]...)
	}
	b = append(b, clock().dateLine[:]...)
	return strconv.AppendInt(b, int64(n), 10)
}

// WriteString is Write with a string body.
func (w *ResponseWriter) WriteString(status int, contentType, body string) {
	w.Scratch = append(w.Scratch[:0], body...)
	w.Write(status, contentType, w.Scratch)
}

// AppendError appends the response to a rejected request: the error's status,
// a one-line reason as the body, and "Connection: close".
func AppendError(out []byte, e *Error) []byte {
	var w ResponseWriter
	w.out, w.close = out, true
	w.Write(e.Status, "text/plain; charset=utf-8", e.body)
	return w.out
}

// appendStatusLine appends "HTTP/1.1 <code> <reason>\r\n".
func appendStatusLine(b []byte, status int) []byte {
	if status == 200 {
		return append(b, "HTTP/1.1 200 OK\r\n"...)
	}
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, StatusText(status)...)
	return append(b, "\r\n"...)
}

// StatusText is the reason phrase of a status code.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 204:
		return "No Content"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 411:
		return "Length Required"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	switch code / 100 {
	case 1:
		return "Informational"
	case 2:
		return "Success"
	case 3:
		return "Redirection"
	case 4:
		return "Client Error"
	}
	return "Server Error"
}
