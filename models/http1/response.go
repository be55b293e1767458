package http1

import "strconv"

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

	// The head of the last 200 response with a body, up to and including
	// "Content-Length: ", and what it was built from: a connection answering
	// the same way request after request copies it in one piece, and builds
	// it again only when the second (and so the Date) changes.
	cached     []byte
	cachedType string
	cachedDate *dateLines
}

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
}

// End returns the output buffer with the response appended, and its status
// (0 when the handler wrote nothing).
func (w *ResponseWriter) End() ([]byte, int) {
	out := w.out
	w.out = nil
	return out, w.status
}

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
	switch {
	case w.close:
		b = append(b, "\r\nConnection: close"...)
	case w.http10:
		b = append(b, "\r\nConnection: keep-alive"...)
	}
	if len(w.extra) == 0 {
		b = append(b, "\r\n\r\n"...)
	} else {
		b = append(b, "\r\n"...)
		b = append(b, w.extra...)
		b = append(b, "\r\n"...)
	}
	if !noBody && !w.head {
		b = append(b, body...)
	}
	w.out = b
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
