// Package stdhttp runs net/http handlers on iolab's cores: an http.Handler,
// unchanged, answers requests that epoll, io_uring or the runtime poller
// carried, through the same Session as the native handlers. It answers the
// question the framework adapters among iolab's seeds ask: what does a real
// application interface cost on top of a raw I/O core? (One of them aimed
// at no more than 20% over the bare server.)
//
// Every application with a net/http form (app.App.HTTP) is registered
// again as "nethttp:<name>", so that `iolab serve --model epoll --app
// nethttp:bench` runs the net/http handlers on epoll, and an experiment can
// put `app: bench` and `app: nethttp:bench` side by side on the same core.
//
// # What a handler gets
//
// A *http.Request built from the parsed request: method, URL, RequestURI,
// Proto, Header (canonical keys; Host moved to Host, as net/http does),
// ContentLength, TransferEncoding, Close, Body. RemoteAddr is empty (the
// Session does no I/O and knows no addresses), and the context is
// context.Background(): a core does not say when a client goes away.
//
// The body: on the core's thread (handler=inline) the body has arrived
// whole before the handler runs, since a handler blocked reading it would
// stall the loop; off it (handler=offload), a body that does not arrive
// with its head is read as it arrives, through Request.Body, so an upload
// of any size never sits in memory. A body over max_body reads as an
// *http.MaxBytesError, as under http.MaxBytesReader.
//
// The response: buffered until the handler returns, when it is small, and
// then sent with Content-Length (the fast path of the native handlers); a
// handler that flushes (http.Flusher, http.ResponseController) or writes
// more than bufferMax gets a chunked response instead, unless it set
// Content-Length itself. Flushed output goes to the client at once off the
// core's thread; on it, when the handler returns. A missing Content-Type
// is sniffed as net/http does. The Server and Date headers are iolab's;
// Hijack is refused with ErrHijack. A handler that panics is answered with
// 500 (or its connection closed, if it had begun its response), and the
// panic is logged, as net/http does.
package stdhttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"iolab/models/app"
	"iolab/models/http1"
)

// Prefix names the adapted form of an application.
const Prefix = "nethttp:"

func init() {
	for _, name := range app.Names() {
		a, _ := app.Lookup(name)
		if a.HTTP == nil && a.Open == nil {
			continue
		}
		adapted := app.App{Name: Prefix + name, Doc: "the net/http form of " + name + ", on the core through stdhttp"}
		if a.HTTP != nil {
			adapted.Handler = New(a.HTTP)
		}
		if open := a.Open; open != nil {
			adapted.Open = func(o app.Options) (app.App, error) {
				b, err := open(o)
				switch {
				case err != nil:
					return app.App{}, err
				case b.HTTP == nil:
					return app.App{}, fmt.Errorf("app %s has no net/http form", name)
				}
				return app.App{Name: Prefix + name, Doc: adapted.Doc, Handler: New(b.HTTP), HTTP: b.HTTP}, nil
			}
		}
		adapted.HTTP = a.HTTP
		app.Register(adapted)
	}
}

// ErrHijack is what Hijack says.
var ErrHijack = errors.New("stdhttp: Hijack is not supported: an iolab core owns the connection and only moves its bytes " +
	"for the Session; serve handlers that take over connections with the nethttp peer (--model nethttp)")

// bufferMax is the most a response body is held before its head is
// written: smaller bodies get a Content-Length (net/http holds 2 KiB for
// the same reason; the native fast path favours a little more).
const bufferMax = 4 << 10

// Adapter is an app.Handler that runs a net/http Handler.
type Adapter struct {
	h http.Handler
}

var (
	_ app.Handler    = (*Adapter)(nil)
	_ app.BodyReader = (*Adapter)(nil)
)

// New adapts h.
func New(h http.Handler) *Adapter { return &Adapter{h: h} }

// ReadsBodyStream implements app.BodyReader: off the core's thread, the
// handler reads its body as it arrives.
func (a *Adapter) ReadsBodyStream() bool { return true }

// Serve implements app.Handler.
func (a *Adapter) Serve(w *http1.ResponseWriter, r *http1.Request) {
	req := newRequest(r)
	rw := writers.Get().(*responseWriter)
	rw.begin(w, r)
	defer func() {
		if p := recover(); p != nil {
			rw.panicked(p, req)
		}
		rw.end()
		writers.Put(rw)
	}()
	a.h.ServeHTTP(rw, req)
}

// request is a *http.Request and what it points to, in one allocation:
// most requests have few enough header fields for values to hold them.
type request struct {
	http.Request
	url    url.URL
	body   bodyReader
	values [8]string
}

// chunkedTE is TransferEncoding of a chunked request (never to be changed).
var chunkedTE = []string{"chunked"}

// newRequest builds the *http.Request for r. Every string in it is a
// piece of one copy of the head, so a handler may keep any of them.
func newRequest(r *http1.Request) *http.Request {
	x := new(request)
	req := &x.Request
	head := string(r.Head())
	at := func(v []byte) string {
		if len(v) == 0 {
			return ""
		}
		h := r.Head()
		off := int(uintptr(unsafe.Pointer(unsafe.SliceData(v))) - uintptr(unsafe.Pointer(unsafe.SliceData(h))))
		if off < 0 || off+len(v) > len(h) {
			return string(v) // not a view into the head (Path "/" of an absolute URI)
		}
		return head[off : off+len(v)]
	}
	req.Method = methodName(r)
	req.RequestURI = at(r.Target)
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	if r.Minor == 0 {
		req.Proto, req.ProtoMinor = "HTTP/1.0", 0
	}
	req.URL = &x.url
	path, query := at(r.Path), at(r.Query)
	if r.MethodID == http1.OPTIONS && path == "*" || strings.IndexByte(path, '%') < 0 {
		x.url.Path, x.url.RawQuery = path, query
	} else if u, err := url.ParseRequestURI(path); err == nil {
		x.url.Path, x.url.RawPath, x.url.RawQuery = u.Path, u.RawPath, query
	} else {
		x.url.Path, x.url.RawQuery = path, query // the parser let it through: keep it raw
	}
	req.Host = at(r.Host)
	n := r.NumHeaders()
	req.Header = make(http.Header, n)
	values := x.values[:]
	if n > len(values) {
		values = make([]string, n)
	}
	for i := range n {
		f := r.HeaderAt(i)
		key := canonical(f.Name, at)
		if key == "Host" {
			continue // net/http moves it to req.Host
		}
		values[i] = at(f.Value)
		// A repeated field is rare: look for its name among the ones
		// before rather than ask the map first.
		if repeated(r, i, f.Name) {
			req.Header[key] = append(req.Header[key], values[i])
		} else {
			req.Header[key] = values[i : i+1 : i+1]
		}
	}
	req.ContentLength = r.ContentLength
	if r.Chunked {
		req.TransferEncoding = chunkedTE
		req.ContentLength = -1
	} else if r.ContentLength < 0 {
		req.ContentLength = 0
	}
	req.Close = !r.KeepAlive
	req.Body = http.NoBody
	switch {
	case r.BodyStream != nil:
		x.body.stream = r.BodyStream
		req.Body = &x.body
	case len(r.Body) > 0:
		x.body.whole.Reset(r.Body)
		req.Body = &x.body
	}
	return req
}

// repeated reports whether a field before the i-th has its name.
func repeated(r *http1.Request, i int, name []byte) bool {
	for j := range i {
		if bytes.EqualFold(r.HeaderAt(j).Name, name) {
			return true
		}
	}
	return false
}

// methodName is the request's method as a string, without allocating for
// the usual ones.
func methodName(r *http1.Request) string {
	if r.MethodID != http1.Other {
		return r.MethodID.String()
	}
	return string(r.Method)
}

// commonKeys are the canonical forms of the field names most requests
// carry, so that canonicalising them allocates nothing.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"Host", "Accept", "Accept-Encoding", "Accept-Language", "Connection", "Content-Length",
		"Content-Type", "User-Agent", "Cookie", "Authorization", "Cache-Control", "Pragma", "Referer", "Origin",
		"Expect", "Transfer-Encoding", "Upgrade-Insecure-Requests", "If-None-Match", "If-Modified-Since", "Range",
		"X-Forwarded-For", "X-Requested-With"} {
		m[k] = k
		m[strings.ToLower(k)] = k
	}
	return m
}()

func canonical(name []byte, at func([]byte) string) string {
	if k, ok := commonKeys[string(name)]; ok {
		return k
	}
	s := at(name)
	return http.CanonicalHeaderKey(s)
}

// bodyReader is Request.Body: the whole body, or the stream of one that
// arrives as the handler reads.
type bodyReader struct {
	whole  bytes.Reader
	stream io.Reader
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.stream == nil {
		return b.whole.Read(p)
	}
	n, err := b.stream.Read(p)
	var e *http1.Error
	if errors.As(err, &e) && e.Kind == http1.KindBodyTooLarge {
		err = &http.MaxBytesError{}
	}
	return n, err
}

func (b *bodyReader) Close() error { return nil }

// responseWriter is the http.ResponseWriter over an http1.ResponseWriter.
// It is pooled: net/http forbids using a ResponseWriter after ServeHTTP
// returns.
type responseWriter struct {
	w       *http1.ResponseWriter
	req     *http1.Request
	header  http.Header
	status  int
	buf     []byte // the body so far, while the head waits
	started bool   // the head is written: the body goes straight to w
	length  int64  // a Content-Length the handler set, or -1
}

var writers = sync.Pool{New: func() any { return &responseWriter{header: make(http.Header)} }}

var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
	_ http.Hijacker       = (*responseWriter)(nil)
)

func (rw *responseWriter) begin(w *http1.ResponseWriter, r *http1.Request) {
	rw.w, rw.req = w, r
	clear(rw.header)
	rw.status, rw.buf, rw.started, rw.length = 0, rw.buf[:0], false, -1
}

func (rw *responseWriter) Header() http.Header { return rw.header }

func (rw *responseWriter) WriteHeader(code int) {
	if rw.status != 0 || code < 200 || code > 999 {
		return // one status; informational responses are not sent
	}
	rw.status = code
	if v := rw.header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			rw.length = n
		}
	}
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if !rw.started {
		if rw.length < 0 && len(rw.buf)+len(p) <= bufferMax {
			rw.buf = append(rw.buf, p...)
			return len(p), nil
		}
		rw.start(-1, p)
	}
	if err := rw.w.WriteBody(p); err != nil {
		return 0, http.ErrContentLength
	}
	return len(p), nil
}

// WriteString lets io.WriteString skip a conversion.
func (rw *responseWriter) WriteString(s string) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if !rw.started && rw.length < 0 && len(rw.buf)+len(s) <= bufferMax {
		rw.buf = append(rw.buf, s...)
		return len(s), nil
	}
	return rw.Write([]byte(s))
}

// start writes the head of a body written in pieces: of the length the
// handler set, else of unknown length (chunked), with what is buffered.
// next is what is about to be written, to sniff when nothing is buffered.
func (rw *responseWriter) start(n int64, next []byte) {
	if rw.length >= 0 {
		n = rw.length
	}
	rw.headers()
	sniff := rw.buf
	if len(sniff) == 0 {
		sniff = next
	}
	rw.w.WriteHeader(rw.status, rw.contentType(sniff), n)
	rw.started = true
	rw.w.WriteBody(rw.buf)
	rw.buf = rw.buf[:0]
}

// headers copies the handler's header fields, but those iolab writes
// itself or that decide framing.
func (rw *responseWriter) headers() {
	for k, vs := range rw.header {
		switch k {
		case "Content-Type", "Content-Length", "Transfer-Encoding", "Server", "Date", "Trailer":
			continue
		case "Connection":
			for _, v := range vs {
				if strings.EqualFold(strings.TrimSpace(v), "close") {
					rw.w.SetClose()
				}
			}
			continue
		}
		for _, v := range vs {
			rw.w.Header(k, v)
		}
	}
}

// contentType is the handler's Content-Type, or one sniffed from the
// start of the body, as net/http does.
func (rw *responseWriter) contentType(body []byte) string {
	if ct, ok := rw.header["Content-Type"]; ok {
		if len(ct) == 0 {
			return "" // set to nil: the handler wants none
		}
		return ct[0]
	}
	if rw.status == http.StatusNoContent || rw.status == http.StatusNotModified || len(body) == 0 {
		return ""
	}
	return http.DetectContentType(body)
}

// Flush implements http.Flusher.
func (rw *responseWriter) Flush() {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	if !rw.started {
		rw.start(-1, nil)
	}
	rw.w.Flush()
}

// FlushError is what http.ResponseController calls.
func (rw *responseWriter) FlushError() error {
	rw.Flush()
	return nil
}

// Hijack implements http.Hijacker, refusing: see ErrHijack.
func (rw *responseWriter) Hijack() (c net.Conn, b *bufio.ReadWriter, err error) {
	return nil, nil, ErrHijack
}

// end finishes the response when the handler returns.
func (rw *responseWriter) end() {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	switch {
	case rw.started:
	case rw.length >= 0 && int64(len(rw.buf)) != rw.length:
		// A declared length and no body: a HEAD, or a body cut short,
		// which makes the connection close (http1 sees to it).
		rw.start(rw.length, nil)
	default:
		rw.headers()
		rw.w.Write(rw.status, rw.contentType(rw.buf), rw.buf)
	}
	rw.w, rw.req = nil, nil
	if cap(rw.buf) > 4*bufferMax {
		rw.buf = nil // a large body was buffered once: do not keep it
	}
}

// panicked answers a handler that panicked: 500 if nothing was written,
// else the connection closes; net/http's http.ErrAbortHandler is silent.
func (rw *responseWriter) panicked(p any, req *http.Request) {
	if p != http.ErrAbortHandler {
		stack := make([]byte, 64<<10)
		stack = stack[:runtime.Stack(stack, false)]
		log.Printf("stdhttp: panic serving %s %s: %v\n%s", req.Method, req.RequestURI, p, stack)
	}
	if rw.started || rw.w.Written() {
		rw.w.SetClose()
		return
	}
	clear(rw.header)
	rw.buf = append(rw.buf[:0], "Internal Server Error\n"...)
	rw.status, rw.length = http.StatusInternalServerError, -1
	rw.header.Set("Content-Type", "text/plain; charset=utf-8")
	rw.w.SetClose()
}
