package loadgen

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"iolab/models/affinity"
	"iolab/models/http1"
)

// Defaults and bounds.
const (
	// DefaultConnections is TechEmpower's plaintext concurrency, not wrk's
	// 10: iolab compares servers the way TechEmpower loads them.
	DefaultConnections = 256
	DefaultDuration    = 10 * time.Second
	DefaultTimeout     = 10 * time.Second
	// MaxTimeout is the latency histogram's upper bound: a request is
	// never older than this without having timed out.
	MaxTimeout = 60 * time.Second
	// DefaultMaxResponse bounds the bytes one response may occupy; past it
	// the connection is reset and its requests count as parse errors.
	DefaultMaxResponse = 16 << 20
	maxPipeline        = 1024
	maxConnections     = 10_000_000
)

// TechEmpowerAccept is the Accept header TechEmpower's wrk runs send.
const TechEmpowerAccept = "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7"

// Header is one request header field.
type Header struct {
	Name, Value string
}

// ParseHeader reads "Name: value", as curl's and wrk's -H take it.
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return Header{}, fmt.Errorf("%q is not NAME: VALUE", s)
	}
	h := Header{Name: name, Value: strings.Trim(value, " \t")}
	if err := h.check(); err != nil {
		return Header{}, err
	}
	return h, nil
}

func (h Header) check() error {
	if !isToken(h.Name) {
		return fmt.Errorf("header name %q is not a token (letters, digits, !#$%%&'*+-.^_`|~)", h.Name)
	}
	for i := 0; i < len(h.Value); i++ {
		if c := h.Value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("header %s: value has control character %#02x", h.Name, c)
		}
	}
	return nil
}

// Config describes a load test. The zero value of a field takes its default;
// Validate names the field of any error.
type Config struct {
	// URL is the target, http://host[:port][/path][?query]. Plain HTTP only:
	// TLS would measure the cipher, not the I/O model.
	URL string
	// Method is the request method (default GET).
	Method string
	// Paths, when given, are the request-targets to rotate through on
	// URL's host, instead of URL's own path. An entry "METHOD /target"
	// uses that method for that request.
	Paths []string
	// Headers are added to every request, after Host (and the TechEmpower
	// headers). A Host, Accept or Connection given here replaces the
	// default one.
	Headers []Header
	// TechEmpowerHeaders adds the headers TechEmpower's wrk runs send:
	// Accept (TechEmpowerAccept) and "Connection: keep-alive".
	TechEmpowerHeaders bool
	// Body is sent with every request, with its Content-Length.
	Body []byte

	// Connections is the number of connections (default 256).
	Connections int
	// Threads is the number of worker threads (default: the CPUs this
	// process may use; never more than Connections).
	Threads int
	// Pipeline is the pipelining depth: requests a connection has in
	// flight at once (default 1).
	Pipeline int
	// Rate, when above 0, makes the loop open: this many requests per
	// second in all, on a fixed schedule. 0 is a closed loop.
	Rate float64
	// RequestsPerConn, when above 0, has each connection send this many
	// requests, close once they are answered, and another open in its
	// place: connection churn, where accepting and closing dominate
	// (HttpArena's limited-conn profile). Result.ChurnCloses counts them.
	RequestsPerConn int

	// Duration is the measured window (default 10s when Count is 0).
	Duration time.Duration
	// Count, when above 0, measures this many requests instead of a
	// duration; Duration, if also set, then bounds the window.
	Count int64
	// Warmup runs the load this long before the measured window, recording
	// nothing.
	Warmup time.Duration
	// Timeout fails a request still unanswered this long after it was sent
	// (open loop: after it was due), and resets its connection; it also
	// bounds a connect. Default 10s, at most 60s.
	Timeout time.Duration

	// ExpectStatus, when not 0, is the status every response must have
	// (else an error of category status).
	ExpectStatus int
	// ExpectBody, when not empty, is the body every response must have
	// (else an error of category body). Empty means not checked, rather
	// than "expect an empty body": []byte("") is not nil, and a caller
	// filling it from an optional string must not turn every response into
	// an error. (A response without a body is better told by ExpectStatus.)
	ExpectBody []byte
	// ExpectBodies, when given, holds one body for each entry of Paths:
	// the body the response to that request must have (else an error of
	// category body). A pipelined response that came back out of order,
	// or in place of one that was lost, then shows as a body error, which
	// one fixed body cannot show. Not with ExpectBody.
	ExpectBodies []string

	// SourceAddrs spreads the connections over these local addresses
	// (bind before connect), for more connections than one address has
	// ephemeral ports toward one target.
	SourceAddrs []netip.Addr
	// MaxResponse bounds the bytes one response may occupy (default 16 MiB).
	MaxResponse int

	// Log, when not nil, is told in a line what the run is doing, once its
	// checks have passed: opening the connections (which takes a while for
	// tens of thousands), then loading. It is called on the goroutine that
	// called Run, never from a worker.
	Log func(msg string)
	// OnWindow, when not nil, is called as the measured window begins
	// (true) and as it ends (false), so that a caller can sample the
	// server at those moments. It is called on the goroutine that called
	// Run, on time to within a timer's wake-up; never with false without
	// true first (a run stopped during the warm-up calls neither).
	OnWindow func(begin bool)
}

// ConfigError is a Config field with a bad value.
type ConfigError struct {
	Field   string // the Config field
	Problem string // what is wrong and how to fix it
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

func bad(field, format string, a ...any) error {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, a...)}
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Method == "" {
		c.Method = "GET"
	}
	if c.Connections == 0 {
		c.Connections = DefaultConnections
	}
	if c.Threads == 0 {
		c.Threads = affinity.Count()
	}
	if c.Connections > 0 && c.Threads > c.Connections {
		c.Threads = c.Connections
	}
	if c.Pipeline == 0 {
		c.Pipeline = 1
	}
	if c.Duration == 0 && c.Count == 0 {
		c.Duration = DefaultDuration
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxResponse == 0 {
		c.MaxResponse = DefaultMaxResponse
	}
	return c
}

// Validate checks c (after defaults) and returns a *ConfigError naming the
// first bad field.
func (c Config) Validate() error {
	_, err := newPlan(c)
	return err
}

// target is the parsed URL.
type target struct {
	host     string // as in the URL, for the Host header
	hostname string // without port, to resolve
	port     uint16
	path     string // request-target: path and query
}

func parseURL(s string) (target, error) {
	if s == "" {
		return target{}, bad("URL", "missing; give http://host:port/path")
	}
	if !strings.Contains(s, "://") {
		return target{}, bad("URL", "%q has no scheme; write http://%s", s, s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, bad("URL", "%q does not parse: %v", s, unwrapURLError(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
	case "https":
		return target{}, bad("URL", "https is not supported: iolab load speaks plain HTTP/1.1 (TLS would measure the cipher, not the I/O model); use http://")
	default:
		return target{}, bad("URL", "scheme %q is not supported; use http://", u.Scheme)
	}
	if u.User != nil {
		return target{}, bad("URL", "user info is not supported; send an Authorization header instead")
	}
	if u.Hostname() == "" {
		return target{}, bad("URL", "%q has no host", s)
	}
	t := target{host: u.Host, hostname: u.Hostname(), port: 80}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return target{}, bad("URL", "port %q is not 1..65535", p)
		}
		t.port = uint16(n)
	}
	t.path = u.EscapedPath()
	if t.path == "" {
		t.path = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		t.path += "?" + u.RawQuery
	}
	return t, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// request is one encoded request of the rotation.
type request struct {
	method http1.Method
	closes bool // says "Connection: close": nothing may follow it on its connection
}

// plan is a validated Config, with everything the workers need prepared.
type plan struct {
	cfg    Config
	target target
	reqs   []request
	// ring holds the encoded requests, rotated and repeated so that any
	// batch of up to Pipeline consecutive requests, starting anywhere in
	// the rotation, is one contiguous slice: ring[off[i]:off[i+k]].
	ring []byte
	off  []int
	// batchEnd[i] is how many requests from rotation index i a batch may
	// hold: up to and including the next request that closes its
	// connection, and never more than Pipeline.
	batchEnd []int
	encoded  []string // each request, for the report
}

func newPlan(c Config) (*plan, error) {
	c = c.withDefaults()
	t, err := parseURL(c.URL)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Connections < 1 || c.Connections > maxConnections:
		return nil, bad("Connections", "%d is not 1..%d", c.Connections, maxConnections)
	case c.Threads < 1:
		return nil, bad("Threads", "%d is not at least 1", c.Threads)
	case c.Pipeline < 1 || c.Pipeline > maxPipeline:
		return nil, bad("Pipeline", "%d is not 1..%d", c.Pipeline, maxPipeline)
	case c.RequestsPerConn < 0:
		return nil, bad("RequestsPerConn", "%d is negative; give 0 to keep connections open", c.RequestsPerConn)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return nil, bad("Rate", "%v is not a rate; give requests per second, or 0 for a closed loop", c.Rate)
	case c.Duration < 0:
		return nil, bad("Duration", "%v is negative", c.Duration)
	case c.Duration > 0 && c.Duration < time.Millisecond:
		return nil, bad("Duration", "%v is too short to measure; give at least 1ms", c.Duration)
	case c.Count < 0:
		return nil, bad("Count", "%d is negative", c.Count)
	case c.Warmup < 0:
		return nil, bad("Warmup", "%v is negative", c.Warmup)
	case c.Timeout < time.Millisecond || c.Timeout > MaxTimeout:
		return nil, bad("Timeout", "%v is not 1ms..%v (the latency histogram's range)", c.Timeout, MaxTimeout)
	case c.ExpectStatus != 0 && (c.ExpectStatus < 100 || c.ExpectStatus > 599):
		return nil, bad("ExpectStatus", "%d is not a status code (100..599)", c.ExpectStatus)
	case c.MaxResponse < 1024:
		return nil, bad("MaxResponse", "%d is below 1024 bytes", c.MaxResponse)
	}
	if c.Rate > 0 && c.Rate < 1e-3 {
		return nil, bad("Rate", "%v req/s is too slow to schedule; give at least 0.001", c.Rate)
	}
	seen := map[netip.Addr]bool{}
	for _, a := range c.SourceAddrs {
		if !a.IsValid() {
			return nil, bad("SourceAddrs", "holds an invalid address")
		}
		if seen[a] {
			return nil, bad("SourceAddrs", "%v is listed twice", a)
		}
		seen[a] = true
		if a.Is4() != c.SourceAddrs[0].Is4() {
			return nil, bad("SourceAddrs", "mixes IPv4 and IPv6 addresses")
		}
	}
	if !isToken(c.Method) {
		return nil, bad("Method", "%q is not a token", c.Method)
	}
	if len(c.ExpectBodies) > 0 {
		switch {
		case len(c.ExpectBody) > 0:
			return nil, bad("ExpectBodies", "give ExpectBody (one body for every response) or ExpectBodies (one per path), not both")
		case len(c.ExpectBodies) != len(c.Paths):
			return nil, bad("ExpectBodies", "%d bodies for %d paths; give one body per entry of Paths", len(c.ExpectBodies), len(c.Paths))
		}
	}
	for _, h := range c.Headers {
		if err := h.check(); err != nil {
			return nil, bad("Headers", "%v", err)
		}
		switch strings.ToLower(h.Name) {
		case "transfer-encoding":
			return nil, bad("Headers", "Transfer-Encoding is not supported: the body is sent with Content-Length")
		case "content-length":
			if h.Value != strconv.Itoa(len(c.Body)) {
				return nil, bad("Headers", "Content-Length %q does not match the body's %d bytes; leave it out, it is added", h.Value, len(c.Body))
			}
		}
	}

	p := &plan{cfg: c, target: t}
	type entry struct{ method, path string }
	var entries []entry
	if len(c.Paths) == 0 {
		entries = append(entries, entry{c.Method, t.path})
	}
	for i, s := range c.Paths {
		m, path := c.Method, strings.TrimSpace(s)
		if before, after, ok := strings.Cut(path, " "); ok {
			m, path = before, strings.TrimSpace(after)
			if !isToken(m) {
				return nil, bad("Paths", "entry %d %q: method %q is not a token", i+1, s, m)
			}
		}
		if !strings.HasPrefix(path, "/") {
			return nil, bad("Paths", "entry %d %q does not begin with /", i+1, s)
		}
		for j := 0; j < len(path); j++ {
			if ch := path[j]; ch <= ' ' || ch == 0x7f {
				return nil, bad("Paths", "entry %d %q has a space or control character; percent-encode it", i+1, s)
			}
		}
		entries = append(entries, entry{m, path})
	}
	for _, e := range entries {
		b, closes := encodeRequest(e.method, e.path, t.host, c)
		p.reqs = append(p.reqs, request{method: methodID(e.method), closes: closes})
		p.encoded = append(p.encoded, string(b))
	}
	k, d := len(p.reqs), c.Pipeline
	p.off = make([]int, 0, k+d+1)
	for i := 0; i < k+d; i++ {
		p.off = append(p.off, len(p.ring))
		p.ring = append(p.ring, p.encoded[i%k]...)
	}
	p.off = append(p.off, len(p.ring))
	p.batchEnd = make([]int, k)
	for i := range k {
		n := 1
		for n < d && !p.reqs[(i+n-1)%k].closes {
			n++
		}
		p.batchEnd[i] = n
	}
	return p, nil
}

// encodeRequest writes one request, and reports whether it asks the server
// to close the connection after answering.
func encodeRequest(method, path, host string, c Config) ([]byte, bool) {
	has := func(name string) bool {
		for _, h := range c.Headers {
			if strings.EqualFold(h.Name, name) {
				return true
			}
		}
		return false
	}
	var b []byte
	b = append(b, method+" "+path+" HTTP/1.1\r\n"...)
	if !has("Host") {
		b = append(b, "Host: "+host+"\r\n"...)
	}
	if c.TechEmpowerHeaders {
		if !has("Accept") {
			b = append(b, "Accept: "+TechEmpowerAccept+"\r\n"...)
		}
		if !has("Connection") {
			b = append(b, "Connection: keep-alive\r\n"...)
		}
	}
	closes := false
	for _, h := range c.Headers {
		b = append(b, h.Name+": "+h.Value+"\r\n"...)
		if strings.EqualFold(h.Name, "Connection") {
			for _, tok := range strings.Split(h.Value, ",") {
				if strings.EqualFold(strings.TrimSpace(tok), "close") {
					closes = true
				}
			}
		}
	}
	needsLength := len(c.Body) > 0 || method == "POST" || method == "PUT" || method == "PATCH"
	if needsLength && !has("Content-Length") {
		b = append(b, "Content-Length: "+strconv.Itoa(len(c.Body))+"\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, c.Body...)
	return b, closes
}

func methodID(m string) http1.Method {
	for id := http1.GET; id <= http1.PATCH; id++ {
		if id.String() == m {
			return id
		}
	}
	return http1.Other
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// ParseSourceAddrs reads a list of local addresses: comma-separated
// addresses and ranges, "127.0.0.2-127.0.0.9" or "127.0.0.2-9" (the last
// octet).
func ParseSourceAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := netip.ParseAddr(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", lo)
		}
		first = first.Unmap()
		if !isRange {
			out = append(out, first)
			continue
		}
		hi = strings.TrimSpace(hi)
		last, err := netip.ParseAddr(hi)
		if err != nil {
			// "127.0.0.2-9": the last octet.
			n, nerr := strconv.ParseUint(hi, 10, 8)
			if nerr != nil || !first.Is4() {
				return nil, fmt.Errorf("range end %q is neither an address nor a last octet", hi)
			}
			a := first.As4()
			a[3] = byte(n)
			last = netip.AddrFrom4(a)
		}
		last = last.Unmap()
		if first.Is4() != last.Is4() || last.Less(first) {
			return nil, fmt.Errorf("range %q runs backwards or mixes families", part)
		}
		for a, n := first, 0; ; a, n = a.Next(), n+1 {
			if n == 1<<16 {
				return nil, fmt.Errorf("range %q holds more than 65536 addresses", part)
			}
			out = append(out, a)
			if a == last {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no address in %q", s)
	}
	return out, nil
}

// hostPort formats the target for messages.
func (t target) String() string {
	return net.JoinHostPort(t.hostname, strconv.Itoa(int(t.port)))
}
