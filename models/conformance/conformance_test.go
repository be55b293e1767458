package conformance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"iolab/internal/childtest"
	"iolab/models"
	_ "iolab/models/all"
	"iolab/models/app"
	"iolab/models/app/stdhttp"
	"iolab/models/http1"
)

// Timeouts the suite runs with, short so the timeout cases are quick.
const (
	idleTimeout   = 1500 * time.Millisecond
	headerTimeout = 700 * time.Millisecond
	slowHandler   = 300 * time.Millisecond
)

// suiteApp is the echo application, plus /slow, whose handler takes a while:
// a request in flight for the graceful-stop case. (On an event-loop core it
// blocks the loop, which is exactly the case to test.) It has a net/http
// form too, the same written against net/http, for the adapter
// (models/app/stdhttp) and the peers.
var suiteApp = func() app.App {
	echo, err := app.Lookup("echo")
	if err != nil {
		panic(err)
	}
	return app.App{Name: "conformance", Handler: app.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		if string(r.Path) == "/slow" {
			slow(string(r.Body))
		}
		echo.Handler.Serve(w, r)
	}), HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				app.BodyError(w, err)
				return
			}
			slow(string(body))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		echo.HTTP.ServeHTTP(w, r)
	})}
}()

// slow is /slow: it tells the test its request is in flight, then takes a
// while.
func slow(token string) {
	if started, ok := slowStarted.LoadAndDelete(token); ok {
		close(started.(chan struct{})) // the test may now stop the server
	}
	time.Sleep(slowHandler)
}

// slowStarted maps the body of a /slow request to a channel its handler
// closes on entry, so a test knows the request is in flight.
var slowStarted sync.Map

// flavour is how the suite's application runs on a core: its native
// handlers, or its net/http form through the adapter, on the core's thread
// or offloaded to the worker pool.
type flavour struct {
	name  string
	app   app.App
	knobs []string
	all   bool // on every variant of the core (else on its first)
}

var flavours = []flavour{
	{name: "native", app: suiteApp, all: true},
	{name: "native-offload", app: suiteApp, knobs: []string{"handler=offload"}},
	{name: "nethttp-inline", app: app.App{Name: "conformance-nethttp", Handler: stdhttp.New(suiteApp.HTTP)}},
	{name: "nethttp-offload", app: app.App{Name: "conformance-nethttp", Handler: stdhttp.New(suiteApp.HTTP)},
		knobs: []string{"handler=offload"}},
}

// difference is a case in which a peer answers otherwise than iolab's
// cores, by design of its server (a leniency RFC 9112 allows, a limit it
// lacks, its own error responses): the suite says so per model and case,
// with the reason, rather than weakening the case for everyone. A case
// with a difference checks what the peer does instead: the statuses it
// answers with, in order; with none, the case is not run for that peer
// (the reason says why).
type difference struct {
	reason   string
	statuses []int
}

func answers(reason string, statuses ...int) difference { return difference{reason, statuses} }
func notRun(reason string) difference                   { return difference{reason: reason} }

// differences are the peers' (models/peer), by model and case name.
var differences = map[string]map[string]difference{
	"nethttp": {
		"options asterisk":   answers("net/http answers OPTIONS * itself, without the handler (so without our Server header)", 200),
		"connect":            answers("net/http hands CONNECT to the handler (a proxy may tunnel it); iolab refuses it with 501", 200),
		"leading empty line": answers("net/http does not ignore an empty line before the request line, which RFC 9112 §2.2 says a server SHOULD", 400),
		"nothing after a rejected request is answered": answers("net/http writes its own 400 before any handler, without a Server header", 400),
		"valid then rejected then valid":               answers("net/http's 400 has its own body", 200, 400),
		"request line too long":                        answers("net/http bounds the request line and the header section together (MaxHeaderBytes), not the line alone", 200),
		"method too long":                              answers("net/http calls any head over MaxHeaderBytes 431", 431),
		"header section too large":                     answers("net/http writes its own 431, without a Server header", 431),
		"too many header fields":                       answers("net/http has no bound on the number of header fields (max_headers)", 200),
		"body too large": notRun("net/http enforces a body limit only as the handler reads (http.MaxBytesReader): a head announcing too " +
			"much is answered only once the body comes, and this case's client never sends it"),
		"expect unknown":     answers("net/http writes its own 417, without a Server header", 417),
		"reject/bad target":  answers("net/http reads '#' in a request-target as the start of a fragment instead of refusing it", 200),
		"limits/max_headers": notRun("net/http has no bound on the number of header fields (max_headers)"),
		"limits/max_request_line": answers("net/http bounds the request line and the header section together (MaxHeaderBytes), "+
			"not the line alone", 200),
		"timeouts": notRun("net/http applies ReadHeaderTimeout to a new connection's first wait too (an idle one closes after " +
			"header_timeout), and answers a head cut short by it with 400; iolab closes silently"),
		"stats": notRun("a peer counts what is seen from outside its server: connections, and requests that reach the handler; " +
			"not the ones its parser rejects, statuses, bytes or syscalls"),
		"graceful stop/pipelined burst": notRun("net/http's Shutdown closes a connection it finds idle between two pipelined " +
			"requests at once, with the next ones unread: the kernel answers with a reset, which can discard responses the " +
			"client has not read yet (here a response came cut short in about 1 run in 8)"),
	},
	"fasthttp": {
		"connect":                        answers("fasthttp hands CONNECT to the handler; iolab refuses it with 501", 200),
		"valid then rejected then valid": answers("fasthttp's 400 has its own body", 200, 400),
		"request line too long":          answers("fasthttp bounds the whole head by its read buffer (ReadBufferSize), not the request line alone", 200),
		"method too long":                answers("fasthttp calls any head over its read buffer 431", 431),
		"too many header fields":         answers("fasthttp has no bound on the number of header fields (max_headers)", 200),
		"expect unknown":                 answers("fasthttp ignores an Expect it does not know, which RFC 9110 §10.1.1 says a server MAY reject", 200),
		"reject/bad target":              answers("fasthttp passes '#' in a request-target through", 200),
		"reject/unsupported version":     answers("fasthttp answers an HTTP/2.0 request line as HTTP/1.x and closes; iolab answers 505", 200),
		"reject/unknown coding":          answers("fasthttp calls a transfer coding it does not implement a bad request (400); iolab answers 501", 400),
		"100 continue for http/1.0":      notRun("fasthttp sends 100 Continue to an HTTP/1.0 client too, which RFC 9110 §15.2 forbids"),
		"limits/max_headers":             notRun("fasthttp has no bound on the number of header fields (max_headers)"),
		"limits/max_request_line": answers("fasthttp bounds the whole head by its read buffer (ReadBufferSize), not the request "+
			"line alone", 200),
		"graceful stop/pipelined burst": notRun("fasthttp's ShutdownWithContext closes the connections it counts as idle every " +
			"100 ms: a pipelining client's connection can be cut inside a response"),
		"limits/max_body":        answers("fasthttp's default error handler calls a body over MaxRequestBodySize a bad request (400)", 400),
		"body too large":         answers("fasthttp's default error handler calls a body over MaxRequestBodySize a bad request (400)", 400),
		"chunked body too large": answers("fasthttp's default error handler calls a body over MaxRequestBodySize a bad request (400)", 400),
		"timeouts": notRun("fasthttp answers a request its ReadTimeout cut short (408, or 400 for a partial head) before closing, " +
			"and its ReadTimeout bounds a whole request; iolab closes silently"),
		"stats": notRun("a peer counts what is seen from outside its server: connections, and requests that reach the handler; " +
			"not the ones its parser rejects, statuses, bytes or syscalls"),
	},
}

// variant is one registered model in one of its variants: what every
// per-core test runs over.
type variant struct {
	model, name string
	knobs       []string
	first       bool // the model's first variant
	peer        bool // a reference peer (models/peer), not an iolab core
}

func (v variant) String() string { return v.model + "/" + v.name }

// eachVariant runs f, in parallel, as the subtest model/variant for every
// iolab core in the registry and each of its Variants (or its defaults,
// when it has none), so a core added to the registry joins every test by
// itself. A model unavailable here (io_uring refused) is skipped, saying
// why. The peers are left out: the reliability, smuggling and stress tests
// hold iolab's cores to what they promise; a peer is a reference row, and
// its behaviour under those is its maintainers' (the conformance cases,
// through eachCore, say where it differs).
func eachVariant(t *testing.T, f func(t *testing.T, v variant)) {
	forVariants(t, true, false, false, f)
}

// eachStressVariant runs f, one at a time, for every iolab core and each of
// its variants marked Stress (or its defaults, when none is).
func eachStressVariant(t *testing.T, f func(t *testing.T, v variant)) {
	forVariants(t, false, true, false, f)
}

// forVariants is eachVariant, in parallel or one after the other (for tests
// that each take most of the machine), over the Stress variants only or
// all, with the peers or without.
func forVariants(t *testing.T, parallel, stress, peers bool, f func(t *testing.T, v variant)) {
	for _, name := range models.Names() {
		m, err := models.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Peer && !peers {
			continue
		}
		variants := m.Variants
		if stress {
			variants = slices.DeleteFunc(slices.Clone(variants), func(v models.Variant) bool { return !v.Stress })
		}
		if len(variants) == 0 {
			variants = []models.Variant{{Name: "default"}}
		}
		for i, mv := range variants {
			v := variant{model: name, name: mv.Name, knobs: mv.Knobs, first: i == 0, peer: m.Peer}
			t.Run(v.String(), func(t *testing.T) {
				if m.Available != nil {
					if err := m.Available(); err != nil {
						t.Skipf("%s unavailable here: %v", name, err)
					}
				}
				if parallel {
					t.Parallel()
				}
				f(t, v)
			})
		}
	}
}

// withKnobs returns the knob settings of every list, in order, a later
// setting of a knob replacing an earlier one: a test's own timeouts over
// the suite's, a variant's over both.
func withKnobs(lists ...[]string) []string {
	var out []string
	at := map[string]int{}
	for _, l := range lists {
		for _, s := range l {
			name, _, _ := strings.Cut(s, "=")
			if i, ok := at[name]; ok {
				out[i] = s
				continue
			}
			at[name] = len(out)
			out = append(out, s)
		}
	}
	return out
}

// suiteKnobs are the timeouts every core runs the suite with.
var suiteKnobs = []string{
	"idle_timeout=" + idleTimeout.String(),
	"header_timeout=" + headerTimeout.String(),
}

// eachCore runs f for every registered model (peers too) and each of its
// variants, and the flavours of the application, in parallel, each with
// its own server in this process, started with the suite's timeouts, the
// variant's knobs, the flavour's and then knobs. A peer runs the
// application its own way: one flavour.
func eachCore(t *testing.T, knobs []string, f func(t *testing.T, s server)) {
	eachServer(t, knobs, flavours, true, f)
}

// eachNativeCore is eachCore for iolab's cores alone, with their native
// handlers: for the cases that test the core and the parser, which the
// adapter does not change.
func eachNativeCore(t *testing.T, knobs []string, f func(t *testing.T, s server)) {
	eachServer(t, knobs, flavours[:1], false, f)
}

func eachServer(t *testing.T, knobs []string, fls []flavour, peers bool, f func(t *testing.T, s server)) {
	forVariants(t, true, false, peers, func(t *testing.T, v variant) {
		for _, fl := range fls {
			if !v.first && !fl.all || v.peer && fl.name != "native" {
				continue
			}
			settings := withKnobs(suiteKnobs, v.knobs, fl.knobs, knobs)
			t.Run(fl.name, func(t *testing.T) {
				t.Parallel()
				f(t, server{model: v.model, start: func() models.Core {
					return childtest.StartApp(t, v.model, fl.app, settings...)
				}})
			})
		}
	})
}

// server is one of eachCore's: its model, and how to start it.
type server struct {
	model string
	start func() models.Core
}

// differs returns the model's expected difference in the named case, if
// it has one (see differences).
func (s server) differs(name string) (difference, bool) {
	d, ok := differences[s.model][name]
	return d, ok
}

// hasKnob reports whether the model has the named knob.
func (s server) hasKnob(name string) bool {
	m, err := models.Lookup(s.model)
	return err == nil && slices.ContainsFunc(m.AllKnobs(), func(k models.Knob) bool { return k.Name == name })
}

// skipIfDiffers skips a check the model is known to answer otherwise, and
// says why.
func (s server) skipIfDiffers(t *testing.T, name string) {
	t.Helper()
	if d, ok := s.differs(name); ok {
		t.Skipf("%s differs here by design: %s", s.model, d.reason)
	}
}

// client is one raw TCP connection with an independent response parser
// (net/http's) on top.
type client struct {
	t  *testing.T
	c  *net.TCPConn
	br *bufio.Reader
}

func dial(t *testing.T, addr net.Addr) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c.(*net.TCPConn), br: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// sendSlowly writes s in pieces of n bytes, pausing between them so that each
// piece reaches the server in its own read.
func (c *client) sendSlowly(s string, n int) {
	c.t.Helper()
	for len(s) > 0 {
		k := min(n, len(s))
		c.send(s[:k])
		s = s[k:]
		time.Sleep(time.Millisecond)
	}
}

type response struct {
	status int
	header http.Header
	body   string
	close  bool
}

// read reads one response to a request with the given method.
func (c *client) read(method string) response {
	c.t.Helper()
	res, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading the response: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("reading the body: %v", err)
	}
	return response{res.StatusCode, res.Header, string(body), res.Close}
}

// statuses checks a case a peer answers otherwise by design: the statuses
// it answers with instead, in order.
func (c *client) statuses(method string, d difference) {
	c.t.Helper()
	for i, want := range d.statuses {
		if r := c.read(method); r.status != want {
			c.t.Fatalf("response %d: status %d; the expected difference (%s) says %d: update it", i, r.status, d.reason, want)
		}
	}
	c.t.Logf("differs by design: %s", d.reason)
}

// closed asserts that the server closes the connection without sending
// anything more.
func (c *client) closed() {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := c.br.ReadByte()
	switch {
	case err == nil:
		rest, _ := c.br.Peek(c.br.Buffered())
		c.t.Fatalf("server sent more instead of closing: %q", append([]byte{b}, rest...))
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
	default:
		c.t.Fatalf("server did not close: %v", err)
	}
}

// alive asserts that the connection still serves requests, and nothing
// stray is waiting to be read.
func (c *client) alive() {
	c.t.Helper()
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		c.t.Fatalf("stray bytes after the responses: %q", b)
	}
	c.send("POST /alive HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nalive")
	if r := c.read("POST"); r.status != 200 || r.body != "alive" {
		c.t.Fatalf("follow-up request: %d %q", r.status, r.body)
	}
}

func post(path, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
}

func chunked(path string, chunks ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", path)
	for _, c := range chunks {
		fmt.Fprintf(&b, "%x\r\n%s\r\n", len(c), c)
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

// exchange is a case that sends bytes and expects responses.
type exchange struct {
	name   string
	send   string
	pieces int      // >0: send in pieces of this many bytes
	method string   // of the requests (for HEAD framing); POST by default
	want   []int    // statuses, in order
	bodies []string // when set, the expected bodies
	close  bool     // the server must close after the last response
}

func pipeline(n int) exchange {
	var in strings.Builder
	var bodies []string
	var want []int
	for i := range n {
		body := fmt.Sprintf("request %d of %d", i+1, n)
		in.WriteString(post(fmt.Sprintf("/p/%d", i), body))
		bodies, want = append(bodies, body), append(want, 200)
	}
	return exchange{name: fmt.Sprintf("pipeline of %d", n), send: in.String(), want: want, bodies: bodies}
}

var exchanges = []exchange{
	{name: "get", send: "GET / HTTP/1.1\r\nHost: t\r\n\r\n", method: "GET", want: []int{200}, bodies: []string{""}},
	{name: "content-length body", send: post("/", "hello world"), want: []int{200}, bodies: []string{"hello world"}},
	{name: "empty body", send: post("/", ""), want: []int{200}, bodies: []string{""}},
	{name: "no length", send: "POST / HTTP/1.1\r\nHost: t\r\n\r\n", want: []int{200}, bodies: []string{""}},
	{name: "chunked body", send: chunked("/", "hello", " ", "world"), want: []int{200}, bodies: []string{"hello world"}},
	{name: "chunked extensions and trailers", send: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;a=b;c=\"d e\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n", want: []int{200}, bodies: []string{"hello0123456789"}},
	{name: "request split byte by byte", send: post("/split", "byte by byte"), pieces: 1, want: []int{200}, bodies: []string{"byte by byte"}},
	{name: "chunked split byte by byte", send: chunked("/split", "ab", "cd"), pieces: 1, want: []int{200}, bodies: []string{"abcd"}},
	{name: "split between CR and LF", send: post("/cr", "x"), pieces: 15, want: []int{200}, bodies: []string{"x"}},
	pipeline(2),
	pipeline(16),
	pipeline(100),
	// A response over write_high_water (256 KiB) stops a core reading until
	// it drains; the connection must read again afterwards (alive checks).
	{name: "response over the high-water mark", send: post("/big", strings.Repeat("h", 1<<20)), want: []int{200},
		bodies: []string{strings.Repeat("h", 1<<20)}},
	{name: "pipeline of mixed framings", send: post("/a", "one") + chunked("/b", "tw", "o") + "GET /c HTTP/1.1\r\nHost: t\r\n\r\n" + post("/d", "four"),
		want: []int{200, 200, 200, 200}, bodies: []string{"one", "two", "", "four"}},
	{name: "head has no body", send: "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", method: "HEAD", want: []int{200}, bodies: []string{""}},
	{name: "connection close", send: "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", method: "GET", want: []int{200}, close: true},
	{name: "requests after connection close are not answered", send: "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
		method: "GET", want: []int{200}, close: true},
	{name: "http/1.0 closes", send: "GET / HTTP/1.0\r\n\r\n", method: "GET", want: []int{200}, close: true},
	{name: "http/1.0 keep-alive", send: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", method: "GET", want: []int{200}},
	{name: "absolute-form", send: "GET http://t/x HTTP/1.1\r\nHost: t\r\n\r\n", method: "GET", want: []int{200}},
	{name: "options asterisk", send: "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n", method: "OPTIONS", want: []int{200}},
	{name: "connect", send: "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n", method: "GET", want: []int{501}, close: true},
	{name: "leading empty line", send: "\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n", method: "GET", want: []int{200}},
	{name: "nothing after a rejected request is answered", send: "GET / HTTP/1.1\r\nHost: t\r\nX : y\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
		method: "GET", want: []int{400}, close: true},
	{name: "valid then rejected then valid", send: post("/", "ok") + "GET / HTTP/1.1\r\n\r\n" + post("/", "never"),
		want: []int{200, 400}, bodies: []string{"ok", "missing, repeated or invalid Host\n"}, close: true},
	// Limits (defaults: 8 KiB request line, 16 KiB and 100 header fields, 8 MiB body).
	{name: "long target accepted", send: "GET /" + strings.Repeat("a", 7900) + " HTTP/1.1\r\nHost: t\r\n\r\n", method: "GET", want: []int{200}},
	{name: "request line too long", send: "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: t\r\n\r\n", method: "GET", want: []int{414}, close: true},
	{name: "method too long", send: strings.Repeat("A", 100_000) + " / HTTP/1.1\r\nHost: t\r\n\r\n", method: "GET", want: []int{400}, close: true},
	{name: "header section too large", send: "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + strings.Repeat("b", 100_000) + "\r\n\r\n", method: "GET", want: []int{431}, close: true},
	{name: "too many header fields", send: "GET / HTTP/1.1\r\nHost: t\r\n" + strings.Repeat("X-H: v\r\n", 101) + "\r\n", method: "GET", want: []int{431}, close: true},
	{name: "body too large", send: "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9999999\r\n\r\n", want: []int{413}, close: true},
	{name: "chunked body too large", send: "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800000\r\n" + strings.Repeat("z", 8<<20) + "\r\n1\r\nz\r\n0\r\n\r\n",
		want: []int{413}, close: true},
	{name: "expect unknown", send: "GET / HTTP/1.1\r\nHost: t\r\nExpect: 200-ok\r\n\r\n", method: "GET", want: []int{417}, close: true},
}

// rejected lists one request per class the parser rejects that is not a
// smuggling vector (those are in smuggling_test.go); each must get its
// status and then a close.
var rejected = []struct {
	name   string
	send   string
	status int
}{
	{"space before colon", "GET / HTTP/1.1\r\nHost: t\r\nX : a\r\n\r\n", 400},
	{"control in name", "GET / HTTP/1.1\r\nHost: t\r\nX\x01: a\r\n\r\n", 400},
	{"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
	{"bad method", "GE(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
	{"bad target", "GET /a#b HTTP/1.1\r\nHost: t\r\n\r\n", 400},
	{"bad version", "GET / HTTP/1.x\r\nHost: t\r\n\r\n", 400},
	{"unsupported version", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
	{"unknown coding", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
	{"binary garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400},
}

func TestExchanges(t *testing.T) {
	eachCore(t, nil, func(t *testing.T, s server) {
		core := s.start()
		for _, x := range exchanges {
			t.Run(x.name, func(t *testing.T) {
				d, differs := s.differs(x.name)
				if differs && d.statuses == nil {
					t.Skipf("%s differs here by design: %s", s.model, d.reason)
				}
				c := dial(t, core.Addr())
				if x.pieces > 0 {
					c.sendSlowly(x.send, x.pieces)
				} else {
					go c.send(x.send) // big sends must not wait for our reads
				}
				method := x.method
				if method == "" {
					method = "POST"
				}
				if differs {
					c.statuses(method, d)
					return
				}
				for i, status := range x.want {
					r := c.read(method)
					if r.status != status {
						t.Fatalf("response %d: status %d, want %d (body %q)", i, r.status, status, r.body)
					}
					if x.bodies != nil && r.body != x.bodies[i] {
						t.Fatalf("response %d: body %q, want %q", i, r.body, x.bodies[i])
					}
					if r.header.Get("Date") == "" || r.header.Get("Server") == "" {
						t.Fatalf("response %d: no Date or Server: %v", i, r.header)
					}
					if last := i == len(x.want)-1; last && x.close != r.close {
						t.Fatalf("response %d: Connection: close is %v, want %v", i, r.close, x.close)
					}
				}
				if x.close {
					c.closed()
				} else {
					c.alive()
				}
			})
		}
		for _, r := range rejected {
			t.Run("reject/"+r.name, func(t *testing.T) {
				c := dial(t, core.Addr())
				c.send(r.send)
				if d, ok := s.differs("reject/" + r.name); ok {
					c.statuses("GET", d)
					return
				}
				res := c.read("GET")
				if res.status != r.status || !res.close {
					t.Fatalf("status %d close %v, want %d and close", res.status, res.close, r.status)
				}
				c.closed()
			})
		}
	})
}

func TestContinue(t *testing.T) {
	eachCore(t, nil, func(t *testing.T, s server) {
		core := s.start()
		c := dial(t, core.Addr())
		c.send("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		if r := c.read("POST"); r.status != 100 {
			t.Fatalf("interim status %d, want 100", r.status)
		}
		c.send("hello")
		if r := c.read("POST"); r.status != 200 || r.body != "hello" {
			t.Fatalf("final %d %q", r.status, r.body)
		}
		// HTTP/1.0 gets no 1xx (RFC 9110 §15.2).
		s.skipIfDiffers(t, "100 continue for http/1.0")
		c2 := dial(t, core.Addr())
		c2.send("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello")
		if r := c2.read("POST"); r.status != 200 || r.body != "hello" {
			t.Fatalf("http/1.0: %d %q", r.status, r.body)
		}
	})
}

// TestConfiguredLimits starts each core with small limits: the knobs reach
// the parser.
func TestConfiguredLimits(t *testing.T) {
	eachCore(t, []string{"max_body=16", "max_headers=2", "max_request_line=64"}, func(t *testing.T, s server) {
		core := s.start()
		for _, x := range []struct {
			name   string
			send   string
			status int
		}{
			{"", post("/", strings.Repeat("b", 16)), 200},
			{"limits/max_body", post("/", strings.Repeat("b", 17)), 413},
			{"", "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\n\r\n", 200},
			{"limits/max_headers", "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\n\r\n", 431},
			{"limits/max_request_line", "GET /" + strings.Repeat("a", 64) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
		} {
			d, differs := s.differs(x.name)
			if differs && d.statuses == nil {
				t.Logf("%s: %s differs by design: %s", x.name, s.model, d.reason)
				continue
			}
			c := dial(t, core.Addr())
			c.send(x.send)
			if differs {
				c.statuses("POST", d)
				continue
			}
			if r := c.read("POST"); r.status != x.status {
				t.Fatalf("%.40q: status %d, want %d", x.send, r.status, x.status)
			}
		}
	})
}

// TestMaxConns: beyond max_conns a new connection is closed at once, and
// accepted again when one closes.
func TestMaxConns(t *testing.T) {
	eachCore(t, []string{"max_conns=2"}, func(t *testing.T, s server) {
		core := s.start()
		a, b := dial(t, core.Addr()), dial(t, core.Addr())
		a.send(post("/", "a"))
		b.send(post("/", "b"))
		a.read("POST")
		b.read("POST")
		c := dial(t, core.Addr())
		c.closed()
		a.c.Close()
		deadline := time.Now().Add(3 * time.Second)
		for {
			d := dial(t, core.Addr())
			d.send(post("/", "d"))
			d.c.SetReadDeadline(time.Now().Add(time.Second))
			if res, err := http.ReadResponse(d.br, nil); err == nil && res.StatusCode == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no connection accepted after one closed")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st := core.Stats(); st.Get(models.Rejected) == 0 {
			t.Fatalf("no rejected connection counted: %+v", st.Counters)
		}
	})
}

func TestTimeouts(t *testing.T) {
	eachCore(t, nil, func(t *testing.T, s server) {
		s.skipIfDiffers(t, "timeouts")
		core := s.start()
		var wg sync.WaitGroup
		check := func(name string, f func(c *client)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(name, func(t *testing.T) { f(dial(t, core.Addr())) })
			}()
		}
		// Timed with some slack: timers and deadlines may fire a little late.
		within := func(c *client, start time.Time, lo, hi time.Duration) {
			c.closed()
			if d := time.Since(start); d < lo || d > hi {
				c.t.Fatalf("closed after %v, want between %v and %v", d, lo, hi)
			}
		}
		check("idle connection", func(c *client) {
			within(c, time.Now(), idleTimeout-50*time.Millisecond, idleTimeout+time.Second)
		})
		check("idle after a request", func(c *client) {
			c.send(post("/", "x"))
			c.read("POST")
			within(c, time.Now(), idleTimeout-50*time.Millisecond, idleTimeout+time.Second)
		})
		check("slow header", func(c *client) {
			start := time.Now()
			go func() {
				// One byte every 100 ms: the head never completes in time.
				for _, b := range []byte("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ") {
					if _, err := c.c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
			within(c, start, headerTimeout-50*time.Millisecond, headerTimeout+time.Second)
		})
		wg.Wait()
		// The client sees the close a moment before the core publishes it.
		st := eventually(core, func(st models.Stats) bool {
			return st.Get(models.IdleTimeouts) >= 2 && st.Get(models.HeaderTimeouts) >= 1
		})
		if st.Get(models.IdleTimeouts) < 2 || st.Get(models.HeaderTimeouts) != 1 {
			t.Fatalf("timeouts counted: idle %d, want 2 or more; header %d, want 1 (the slow header's)",
				st.Get(models.IdleTimeouts), st.Get(models.HeaderTimeouts))
		}
	})
}

// TestHeadBehindBackPressure: a response larger than the kernel's socket
// buffers (the core's grows to tcp_wmem's maximum, 4 MiB by default, and
// the response is 2 MiB more) stays queued in the core, over its
// write_high_water, so it stops reading; the start of the next head came
// with the body, and its end comes while the core is paused. Until the
// client reads, that head waits on the server, not on the client: the
// header timeout must not cut the response short (nor count). (A core of
// its own: its passes over 6 MiB would make the other timeout cases' clocks
// late. A short header timeout, which a wrongly timed head overruns well
// within the pause, and a long idle one, which a loaded machine cannot
// overrun fairly. Every flavour: epoll's native handlers leave the next
// head in the socket while a large body is read, its offloaded ones do
// not.)
func TestHeadBehindBackPressure(t *testing.T) {
	const header, idle = 300 * time.Millisecond, 5 * time.Second
	size := tcpWmemMax(t) + 2<<20
	knobs := []string{"header_timeout=" + header.String(), "idle_timeout=" + idle.String(), "max_body=" + strconv.Itoa(size)}
	eachCore(t, knobs, func(t *testing.T, s server) {
		s.skipIfDiffers(t, "timeouts")
		core := s.start()
		c := dial(t, core.Addr())
		body := strings.Repeat("q", size)
		// The core reads all of it: it pauses only once the response is made.
		c.send(post("/big", body) + "GET /next HTTP/1.1\r\nHo")
		time.Sleep(header + 500*time.Millisecond)
		c.send("st: t\r\n\r\n")
		if r := c.read("POST"); r.status != 200 || r.body != body {
			t.Fatalf("the response behind back-pressure: %d, %d bytes", r.status, len(r.body))
		}
		if r := c.read("GET"); r.status != 200 {
			t.Fatalf("the head that waited: %d", r.status)
		}
		st := core.Stats()
		if st.Get(models.HeaderTimeouts)+st.Get(models.IdleTimeouts) != 0 {
			t.Fatalf("timeouts counted: header %d, idle %d", st.Get(models.HeaderTimeouts), st.Get(models.IdleTimeouts))
		}
		if s.hasKnob("write_high_water") && st.Get(models.Pauses) == 0 {
			t.Fatal("the core never paused: the response fit the socket buffers, and the case was not made")
		}
	})
}

// TestSlowReader: a client that takes a large response slowly but steadily
// is not idle. Two pipelined echoes of 1.25 times tcp_wmem's maximum (5 MiB
// each by default) outgrow the socket buffers (the client's fixed at 64 KiB,
// the core's at most that maximum), and the client reads at a pace that lets
// the kernel take more of the response (it wakes a writer when a third of
// its send buffer is free) about three times per idle timeout, for two and a
// half idle timeouts: each write the client lets through is progress and
// moves the idle deadline, so the core must not close in between. (A write
// timed from its start, or a deadline only moved when the whole response has
// gone, cuts it off. The native handlers only: this is the core's doing,
// which the adapter does not change.)
func TestSlowReader(t *testing.T) {
	const idle = 800 * time.Millisecond
	sndbuf := tcpWmemMax(t)
	size := sndbuf * 5 / 4
	eachNativeCore(t, []string{"idle_timeout=" + idle.String(), "max_body=" + strconv.Itoa(size)}, func(t *testing.T, s server) {
		s.skipIfDiffers(t, "timeouts")
		core := s.start()
		d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) })
			return err
		}}
		conn, err := d.Dial("tcp", core.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(15 * time.Second))
		body := strings.Repeat("s", size)
		go conn.Write([]byte(post("/big/1", body) + post("/big/2", body)))
		br := bufio.NewReader(&pacedReader{r: conn, rate: float64(sndbuf) / idle.Seconds(), start: time.Now()})
		for i := range 2 {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i+1, err)
			}
			got, err := io.ReadAll(res.Body)
			if err != nil || string(got) != body {
				t.Fatalf("response %d: %d of %d bytes: %v", i+1, len(got), len(body), err)
			}
		}
		if s.hasKnob("write_high_water") && core.Stats().Get(models.Pauses) == 0 {
			t.Fatal("the core never paused: the responses fit the socket buffers, and the case was not made")
		}
		// (The core may well count an idle timeout by now: the end of the
		// response sat in the kernel's buffers for longer than that.)
	})
}

// tcpWmemMax is the most a TCP socket's send buffer grows to here.
func tcpWmemMax(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(b)); len(f) == 3 {
		if n, err := strconv.Atoi(f[2]); err == nil {
			return n
		}
	}
	t.Fatalf("net.ipv4.tcp_wmem is %q, not three numbers", b)
	return 0
}

// pacedReader reads no faster than rate bytes a second since start, on
// average: a read that wakes late catches up.
type pacedReader struct {
	r     io.Reader
	rate  float64
	start time.Time
	done  int
}

func (p *pacedReader) Read(b []byte) (int, error) {
	allowed := int(p.rate*time.Since(p.start).Seconds()) - p.done
	for allowed <= 0 {
		time.Sleep(10 * time.Millisecond)
		allowed = int(p.rate*time.Since(p.start).Seconds()) - p.done
	}
	n, err := p.r.Read(b[:min(len(b), allowed)])
	p.done += n
	return n, err
}

// TestGracefulStop stops a core with a request in its handler, a pipelined
// burst being answered and an idle connection: the request in flight is
// answered in full, the burst (whose requests may or may not have been read
// before Stop) ends at a response
// boundary, the idle connection closes, new connections are refused, and
// Stop returns without waiting for its deadline.
func TestGracefulStop(t *testing.T) {
	eachCore(t, nil, func(t *testing.T, s server) {
		core := s.start()
		addr := core.Addr()
		idle := dial(t, addr)
		idle.send(post("/", "warm"))
		idle.read("POST")

		burst := dial(t, addr)
		stopping := make(chan struct{})
		go func() {
			// Pipeline batches until Stop begins, so that it lands with
			// requests in flight and buffered. (Writing on while the server
			// lingers would end in a reset after its lingerTime, which
			// discards responses a slow reader, this test under the race
			// detector, has not read yet.)
			batch := []byte(strings.Repeat(post("/b", strings.Repeat("x", 100)), 100))
			for {
				select {
				case <-stopping:
					return
				default:
				}
				if _, err := burst.c.Write(batch); err != nil {
					return
				}
			}
		}()
		if r := burst.read("POST"); r.status != 200 {
			t.Fatalf("pipelined connection: %d", r.status)
		}
		n := 1 // responses the burst has received

		slow := dial(t, addr)
		token := "in flight " + t.Name()
		started := make(chan struct{})
		slowStarted.Store(token, started)
		slow.send(post("/slow", token))
		select {
		case <-started: // the slow request is in its handler
		case <-time.After(5 * time.Second):
			t.Fatal("the slow request never reached its handler")
		}
		stopped := make(chan error, 1)
		begin := time.Now()
		close(stopping)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			stopped <- core.Stop(ctx)
		}()

		if r := slow.read("POST"); r.status != 200 || r.body != token {
			t.Fatalf("in-flight request: %d %q", r.status, r.body)
		}
		slow.closed()
		idle.closed()
		d, cutsBurst := s.differs("graceful stop/pipelined burst")
		if cutsBurst {
			t.Logf("a pipelined burst is not checked: %s", d.reason)
		}
		truncated := func(format string, args ...any) {
			t.Helper()
			var b strings.Builder // what the core counted says how it ended
			core.Stats().WriteText(&b)
			t.Fatalf(format+"; the core's counters:\n%s", append(args, b.String())...)
		}
		for !cutsBurst {
			if _, err := burst.br.Peek(1); err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("after %d responses: %v", n, err)
				}
				break // closed between responses
			}
			res, err := http.ReadResponse(burst.br, nil)
			if err != nil {
				truncated("response %d truncated: %v", n, err)
			}
			body, err := io.ReadAll(res.Body)
			if err != nil || len(body) != 100 {
				truncated("response %d truncated: %d bytes, %v", n, len(body), err)
			}
			n++
		}
		select {
		case err := <-stopped:
			if err != nil {
				t.Fatalf("Stop: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Stop did not return")
		}
		if d := time.Since(begin); d > 4*time.Second {
			t.Fatalf("Stop took %v", d)
		}
		select {
		case <-core.Done():
		default:
			t.Fatal("Done not closed after Stop")
		}
		if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
			c.Close()
			t.Fatal("a connection was accepted after Stop")
		}
		st := core.Stats()
		if st.Open() != 0 || st.Get(models.Accepted) < 3 {
			t.Fatalf("after Stop: open %d, accepted %d", st.Open(), st.Get(models.Accepted))
		}
	})
}

// eventually returns the core's stats once ok holds, or after 2 s.
func eventually(core models.Core, ok func(models.Stats) bool) models.Stats {
	deadline := time.Now().Add(2 * time.Second)
	for {
		st := core.Stats()
		if ok(st) || time.Now().After(deadline) {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStats checks the counters every core must keep, against a known load.
func TestStats(t *testing.T) {
	eachCore(t, nil, func(t *testing.T, s server) {
		s.skipIfDiffers(t, "stats")
		core := s.start()
		c := dial(t, core.Addr())
		c.send(strings.Repeat(post("/", "12345"), 10))
		for range 10 {
			c.read("POST")
		}
		c.send("GET / HTTP/1.1\r\nHost: t\r\nX : y\r\n\r\n")
		c.read("GET")
		c.closed()
		st := eventually(core, func(st models.Stats) bool { return st.Get(models.Closed) == 1 })
		want := map[models.Counter]uint64{
			models.Accepted: 1, models.Closed: 1, models.Requests: 11, models.Status2xx: 10, models.Status4xx: 1,
			models.ParseError(http1.KindSpaceBeforeColon): 1,
		}
		for k, v := range want {
			if got := st.Get(k); got != v {
				t.Errorf("%s = %d, want %d", k.Name(), got, v)
			}
		}
		var syscalls uint64
		for c := models.SysAccept; c <= models.SysIOUringEnter; c++ {
			syscalls += st.Get(c)
		}
		if st.Get(models.BytesIn) == 0 || st.Get(models.BytesOut) == 0 || syscalls == 0 {
			t.Errorf("byte and syscall counters not kept: %+v", st.Counters)
		}
	})
}

// TestShortGapsWaitRaw: a loop whose client pauses between requests for
// less than raw_wait waits for it without the Go runtime's syscall
// bookkeeping, every time, and runtime_waits counts none of those waits.
// (A wait that goes through the bookkeeping costs a hand-off of the loop's
// P and keeps sysmon waking on its CPU; the raw_wait knob exists to spare
// a loop that between requests.) A uring reactor once made each wait that
// followed an empty pass through it, as soon as the wait was longer than
// raw_wait, though a request would come long before that: 20 runtime
// waits for the 20 pauses here. One loop, so that no idle loop makes the
// waits an idle loop should; not with accept=acceptor, where the core
// turns raw_wait off.
func TestShortGapsWaitRaw(t *testing.T) {
	forVariants(t, true, false, false, func(t *testing.T, v variant) {
		if !(server{model: v.model}).hasKnob("raw_wait") {
			t.Skipf("%s has no raw_wait knob: the Go runtime does its waiting", v.model)
		}
		if slices.Contains(v.knobs, "accept=acceptor") {
			t.Skip("accept=acceptor turns raw_wait off")
		}
		core := childtest.StartApp(t, v.model, suiteApp, withKnobs(suiteKnobs, v.knobs, []string{"loops=1", "raw_wait=500ms"})...)
		c := dial(t, core.Addr())
		c.send(post("/", "warm"))
		c.read("POST")
		// The counters of the pass that answered a request are published
		// before its response is sent, so these bracket the 20 waits.
		before := core.Stats().Get(models.RuntimeWaits)
		const gaps = 20
		for i := range gaps {
			time.Sleep(10 * time.Millisecond)
			c.send(post("/", strconv.Itoa(i)))
			c.read("POST")
		}
		// A pause stretched past 500 ms by a loaded machine would be one
		// runtime wait, rightly: allow two.
		if n := core.Stats().Get(models.RuntimeWaits) - before; n > 2 {
			t.Fatalf("%d runtime waits for %d pauses of 10 ms, with raw_wait=500ms: the loop waited through the runtime's bookkeeping between requests", n, gaps)
		}
	})
}

// TestOffloadBlockingHandler: with handler=offload, a handler that blocks
// does not stall the other connections of its loop; inline, on an event
// loop, it does (which is why offload exists). One loop, so that nothing
// else could serve the second connection.
func TestOffloadBlockingHandler(t *testing.T) {
	echo, _ := app.Lookup("echo")
	for _, core := range []string{"epoll", "uring", "netstd"} {
		m, err := models.Lookup(core)
		if err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"offload", "inline"} {
			t.Run(core+"/"+mode, func(t *testing.T) {
				if m.Available != nil && m.Available() != nil {
					t.Skipf("%s unavailable here: %v", core, m.Available())
				}
				t.Parallel()
				release := make(chan struct{})
				a := app.App{Name: "blocking", Handler: stdhttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/block" {
						<-release
					}
					echo.HTTP.ServeHTTP(w, r)
				}))}
				knobs := []string{"handler=" + mode}
				if core != "netstd" {
					knobs = append(knobs, "loops=1")
				}
				c, err := models.Start(core, a, "127.0.0.1:0", knobs)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					c.Stop(ctx)
				}()
				blocked := dial(t, c.Addr())
				blocked.send(post("/block", "waiting"))
				time.Sleep(50 * time.Millisecond) // its handler is blocked now
				other := dial(t, c.Addr())
				other.send(post("/other", "free"))
				other.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				_, err = http.ReadResponse(other.br, nil)
				stalls := mode == "inline" && core != "netstd"
				switch {
				case stalls && err == nil:
					t.Fatalf("inline on %s answered while its loop's handler blocked", core)
				case !stalls && err != nil:
					t.Fatalf("another connection was stalled by a blocked handler: %v", err)
				}
				close(release)
				if r := blocked.read("POST"); r.status != 200 || r.body != "waiting" {
					t.Fatalf("the blocked request: %d %q", r.status, r.body)
				}
				if stalls {
					other.c.SetReadDeadline(time.Now().Add(5 * time.Second))
					if r := other.read("POST"); r.status != 200 || r.body != "free" {
						t.Fatalf("the stalled request, once the loop was free: %d %q", r.status, r.body)
					}
				}
			})
		}
	}
}

// TestStaticFiles serves files on every core that has the zerocopy knob,
// copied and sent from the page cache: the bytes, their order behind
// pipelined requests, HEAD, and a close after a file are the same either
// way.
func TestStaticFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"small.txt": []byte("a small file\n"),
		"big.bin":   bytes.Repeat([]byte("0123456789abcdef"), 3<<16), // 3 MiB: several splices, several sendfiles
		"empty":     nil,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, err := app.Build("static", app.Options{StaticDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, extra string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n"
	}
	for _, name := range models.Names() {
		m, _ := models.Lookup(name)
		if _, ok := knobOf(m, "zerocopy"); !ok {
			continue
		}
		for _, zc := range []string{"off", "on"} {
			for _, mode := range []string{"inline", "offload"} {
				t.Run(name+"/zerocopy="+zc+"/"+mode, func(t *testing.T) {
					if m.Available != nil && m.Available() != nil {
						t.Skipf("%s unavailable here: %v", name, m.Available())
					}
					t.Parallel()
					core, err := models.Start(name, a, "127.0.0.1:0", []string{"zerocopy=" + zc, "handler=" + mode})
					if err != nil {
						t.Fatal(err)
					}
					defer core.Stop(context.Background())
					c := dial(t, core.Addr())
					c.send(get("/big.bin", "") + get("/small.txt", "") + "HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n" +
						get("/empty", "") + get("/big.bin", "") + get("/missing", ""))
					for i, want := range []struct {
						method, body string
						status       int
					}{{"GET", string(files["big.bin"]), 200}, {"GET", "a small file\n", 200}, {"HEAD", "", 200},
						{"GET", "", 200}, {"GET", string(files["big.bin"]), 200}, {"GET", "Not Found\n", 404}} {
						r := c.read(want.method)
						if r.status != want.status || r.body != want.body {
							t.Fatalf("response %d: %d, %d bytes, want %d bytes", i, r.status, len(r.body), len(want.body))
						}
					}
					c.send(get("/small.txt", ""))
					if r := c.read("GET"); r.status != 200 || r.body != "a small file\n" {
						t.Fatalf("follow-up: %d %q", r.status, r.body)
					}
					d := dial(t, core.Addr())
					d.send(get("/big.bin", "Connection: close\r\n"))
					if r := d.read("GET"); r.status != 200 || r.body != string(files["big.bin"]) || !r.close {
						t.Fatalf("close after a file: %d, %d bytes, close %v", r.status, len(r.body), r.close)
					}
					d.closed()
					st := core.Stats()
					sent := st.Get(models.SysSendfile) + st.Get(models.Splices)
					if zc == "on" && sent == 0 || zc == "off" && sent != 0 {
						t.Fatalf("zerocopy=%s: %d sendfile calls, %d splices", zc, st.Get(models.SysSendfile), st.Get(models.Splices))
					}
				})
			}
		}
	}
}

func knobOf(m models.Model, name string) (models.Knob, bool) {
	for _, k := range m.AllKnobs() {
		if k.Name == name {
			return k, true
		}
	}
	return models.Knob{}, false
}

// TestOffloadFlush: an offloaded net/http handler that flushes reaches the
// client before it returns, on every core: a stream (say, server-sent
// events) works through the adapter.
func TestOffloadFlush(t *testing.T) {
	for _, core := range []string{"epoll", "uring", "netstd"} {
		m, err := models.Lookup(core)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(core, func(t *testing.T) {
			if m.Available != nil && m.Available() != nil {
				t.Skipf("%s unavailable here: %v", core, m.Available())
			}
			t.Parallel()
			next := make(chan struct{})
			a := app.App{Name: "stream", Handler: stdhttp.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "first\n")
				w.(http.Flusher).Flush()
				<-next // until the client has read the first line
				io.WriteString(w, "second\n")
			}))}
			c, err := models.Start(core, a, "127.0.0.1:0", []string{"handler=offload"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop(context.Background())
			cl := dial(t, c.Addr())
			cl.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
			res, err := http.ReadResponse(cl.br, nil)
			if err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(res.Body).ReadString('\n')
			if err != nil || line != "first\n" || res.TransferEncoding == nil {
				t.Fatalf("before the handler returned: %q, %v, transfer-encoding %v", line, err, res.TransferEncoding)
			}
			close(next)
			rest, err := io.ReadAll(res.Body)
			if err != nil || string(rest) != "second\n" {
				t.Fatalf("the rest: %q, %v", rest, err)
			}
		})
	}
}
