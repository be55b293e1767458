package http1

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// maxLeadingEmptyLines is how many empty lines before a request line are
// ignored (RFC 9112 §2.2 asks servers to ignore at least one).
const maxLeadingEmptyLines = 4

// maxChunkLine bounds a chunk-size line, extensions included.
const maxChunkLine = 4096

// maxChunkDigits bounds the hex digits of a chunk size (see chunkSize).
const maxChunkDigits = 16

// Parser states. A request moves down this list; any state may end in
// stFailed, after which every call returns the same error.
const (
	stRequestLine = iota
	stHeaders
	stBody      // Content-Length body
	stChunkSize // at a chunk-size line
	stChunkData // inside chunk data
	stChunkEnd  // at the CRLF after chunk data
	stTrailers  // in the trailer section
	stDone      // request complete; the next Parse starts a new one
	stFailed    // request rejected
)

// span is a half-open range of offsets into the buffer. The parser keeps
// offsets rather than slices so the caller may move the buffer between calls.
type span struct{ off, end int }

func (s span) in(b []byte) []byte { return b[s.off:s.end:s.end] }

func (s span) shift(d int) span { return span{s.off + d, s.end + d} }

type field struct{ name, value span }

func (f field) shift(d int) field { return field{f.name.shift(d), f.value.shift(d)} }

// Parser parses HTTP/1.1 requests incrementally. The zero value is not ready:
// use NewParser or Init. A Parser belongs to one connection; it is not safe for
// concurrent use.
type Parser struct {
	limits Limits
	fields []field // the header fields of the request in progress
	req    Request
	memo   memo
	head   []byte // a streamed request's head, copied out of the caller's buffer
	progress
}

// progress is everything the parser knows about the request in progress,
// zeroed (cheaply, in one block) when the next request begins.
type progress struct {
	state uint8
	err   *Error

	pos   int // start of the next unparsed line of the head
	start int // start of the request line (after ignored empty lines)

	method, target, path, query, authority span
	methodID                               Method
	major, minor                           uint8
	headerStart                            int // first byte after the request line
	headEnd                                int // first byte after the empty line

	digested

	// Chunked decoding: raw bytes are read at rpos and the decoded body is
	// written at wpos (wpos <= rpos), so the body ends up contiguous from
	// headEnd.
	rpos, wpos   int
	chunkLeft    int64
	trailerStart int
	trailers     int

	seen         int  // len(buf) at the last call, for 100-continue
	continueSent bool // a 100 Continue was requested for this request

	// Streaming (StreamBody): the body is taken in pieces by NextBody, each
	// call's offsets relative to the buffer it is given.
	streaming bool
	streamed  int64 // decoded body bytes handed over
	framed    int64 // raw body bytes consumed (chunked), for the framing bound
}

// digested is what the header fields told the parser (see digest): all of
// it follows from the bytes of the header section alone.
type digested struct {
	hosts         int
	host          span
	contentLength int64
	clSeen        bool
	teSeen        bool // a Transfer-Encoding field was present
	chunked       bool // the last coding seen was chunked
	teBad         bool // a coding after chunked, chunked twice, or a malformed coding
	teUnknown     bool // a coding other than chunked before chunked
	connClose     bool
	connKeepAlive bool
	expect100     bool
	expectOther   bool
	contentTypes  int
}

// memo is the last header section the parser accepted, and what parsing it
// gave, with offsets relative to its start. Keep-alive clients send the same
// header fields request after request (a pipelining benchmark sends nothing
// else); parsing is a function of the bytes, so when the next section is the
// same bytes, its fields and digest are these, moved. One comparison of the
// bytes replaces validating them again. The request line is always parsed.
type memo struct {
	section []byte
	fields  []field
	digest  digested
	ok      bool
}

// maxMemo bounds the header sections worth remembering.
const maxMemo = 2048

// NewParser returns a parser with the given limits (zero fields take defaults).
func NewParser(l Limits) *Parser {
	p := new(Parser)
	p.Init(l)
	return p
}

// Init prepares p for a new connection with the given limits.
func (p *Parser) Init(l Limits) {
	p.limits = l.orDefault()
	p.Reset()
}

// Limits returns the limits in force.
func (p *Parser) Limits() Limits { return p.limits }

// Reset forgets the request in progress; the next Parse starts a new one.
// It keeps the limits and the memory of earlier requests. (Request's views
// are all rewritten by the next successful Parse, so they are left alone.)
func (p *Parser) Reset() {
	p.progress = progress{digested: digested{contentLength: -1}}
	p.fields = p.fields[:0]
}

// Request returns the request parsed by the last successful Parse. Its views
// are valid as the package comment says.
func (p *Parser) Request() *Request { return &p.req }

// Parse parses the request at the start of buf. On success it returns the
// number of bytes the request occupies, head and raw body, and Request
// describes it. It returns ErrNeedMore when buf ends before the request does,
// and an *Error when the request must be rejected. After a success the next
// call starts a new request; after an *Error every call returns it again.
func (p *Parser) Parse(buf []byte) (int, error) {
	switch p.state {
	case stDone:
		p.Reset()
	case stFailed:
		return 0, p.err
	}
	p.seen = len(buf)
	var err *Error
	if p.state == stRequestLine {
		err = p.parseRequestLine(buf)
	}
	if err == nil && p.state == stHeaders {
		err = p.parseHeaders(buf)
	}
	if err == nil && p.state >= stBody && p.state < stDone {
		err = p.parseBody(buf)
	}
	switch {
	case err == errNeedMore:
		return 0, ErrNeedMore
	case err != nil:
		p.state, p.err = stFailed, err
		return 0, err
	}
	return p.finish(buf), nil
}

// errNeedMore is ErrNeedMore in the parser's internal error type, so the
// state functions return one concrete pointer type.
var errNeedMore = &Error{Reason: "need more data"}

// Need returns the total length the buffer must reach before the request in
// progress can complete, when the parser knows it (inside a Content-Length
// body), or 0. A core uses it to grow its buffer once instead of repeatedly.
func (p *Parser) Need() int {
	if p.state == stBody && !p.streaming {
		return p.headEnd + int(p.contentLength)
	}
	return 0
}

// InHead reports whether the request in progress has not yet completed its
// head. It is the window the header-read timeout bounds.
func (p *Parser) InHead() bool { return p.state <= stHeaders }

// TakeContinue reports, once per request, that the client asked for
// "100-continue", its head is complete and none of its body has arrived, so
// the server should send "100 Continue" before reading the body.
func (p *Parser) TakeContinue() bool {
	if !p.expect100 || p.continueSent || p.state < stBody || p.state >= stDone || p.seen != p.headEnd {
		return false
	}
	p.continueSent = true
	return true
}

// --- request line -----------------------------------------------------------

func (p *Parser) parseRequestLine(b []byte) *Error {
	i := p.pos
	// Ignore a few empty lines before the request line (RFC 9112 §2.2).
	// Only CRLF pairs precede p.pos here, so i/2 counts the lines skipped.
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		if b[i] == '\n' {
			return KindLineEnding.Err()
		}
		if i+1 >= len(b) {
			return errNeedMore
		}
		if b[i+1] != '\n' {
			return KindLineEnding.Err()
		}
		if i/2 == maxLeadingEmptyLines {
			return KindRequestLine.Err()
		}
		i += 2
	}
	p.pos, p.start = i, i

	// method SP
	j := i
	if len(b)-i >= 4 && string(b[i:i+4]) == "GET " {
		j = i + 3 // the method of most requests, settled in one compare
	}
	for j < len(b) && isToken(b[j]) {
		j++
	}
	if j == len(b) {
		// A method longer than a request line is garbage, not a long URI.
		return p.needLine(b, KindMethod)
	}
	if b[j] != ' ' {
		if b[j] == '\r' || b[j] == '\n' || b[j] == '\t' {
			return KindRequestLine.Err()
		}
		return KindMethod.Err()
	}
	if j == i {
		return KindRequestLine.Err()
	}
	p.method = span{i, j}
	p.methodID = methodOf(b[i:j])

	// request-target SP
	k, q := j+1, -1
	for k < len(b) {
		k = skipClass(b, k, cTargetPlain)
		if k == len(b) {
			break
		}
		c := b[k]
		if class[c]&cTarget == 0 {
			break
		}
		if c == '%' {
			if k+2 >= len(b) {
				return p.needLine(b, KindRequestLineTooLong)
			}
			if class[b[k+1]]&cHex == 0 || class[b[k+2]]&cHex == 0 {
				return KindTarget.Err()
			}
			// An encoded control character in the path (%00, %0d%0a) only
			// serves injection; in the query it may be form data.
			if q < 0 && unhex(b[k+1]) < 2 || q < 0 && unhex(b[k+1]) == 7 && lower(b[k+2]) == 'f' {
				return KindTarget.Err()
			}
			k += 3
			continue
		}
		if c == '?' && q < 0 {
			q = k
		}
		k++
	}
	if k == len(b) {
		return p.needLine(b, KindRequestLineTooLong)
	}
	if b[k] != ' ' {
		if k == j+1 || b[k] == '\r' || b[k] == '\n' {
			return KindRequestLine.Err()
		}
		return KindTarget.Err()
	}
	if k == j+1 {
		return KindRequestLine.Err()
	}
	p.target = span{j + 1, k}
	if err := p.splitTarget(b, q); err != nil {
		return err
	}

	// HTTP-version CRLF
	end, err := p.parseVersion(b, k+1)
	if err == errNeedMore {
		return p.needLine(b, KindVersion)
	}
	if err != nil {
		return err
	}
	if end-p.start > p.limits.MaxRequestLine {
		return KindRequestLineTooLong.Err()
	}
	if p.major != 1 {
		return KindVersionUnsupported.Err()
	}
	p.pos, p.headerStart = end, end
	p.state = stHeaders
	return nil
}

// needLine asks for more of an incomplete request line, unless it is already
// too long to ever be accepted; then it fails with the kind that names the
// part being read (a request line is only "too long" inside its target).
func (p *Parser) needLine(b []byte, tooLong ErrorKind) *Error {
	if len(b)-p.start >= p.limits.MaxRequestLine {
		return tooLong.Err()
	}
	return errNeedMore
}

// parseVersion matches "HTTP/" DIGIT "." DIGIT CRLF at b[v:], failing as soon
// as a byte cannot match, so garbage is rejected before the line completes.
func (p *Parser) parseVersion(b []byte, v int) (int, *Error) {
	if len(b)-v >= 10 && string(b[v:v+10]) == "HTTP/1.1\r\n" {
		p.major, p.minor = 1, 1
		return v + 10, nil
	}
	const shape = "HTTP/d.d\r\n"
	for i := 0; i < len(shape); i++ {
		if v+i >= len(b) {
			return 0, errNeedMore
		}
		c := b[v+i]
		switch i {
		case 5, 7:
			if c < '0' || c > '9' {
				return 0, KindVersion.Err()
			}
		case 8:
			if c == '\n' {
				return 0, KindLineEnding.Err()
			}
			if c != '\r' {
				return 0, KindVersion.Err()
			}
		case 9:
			if c != '\n' {
				return 0, KindLineEnding.Err()
			}
		default:
			if c != shape[i] {
				if i == 0 && c == ' ' {
					return 0, KindRequestLine.Err()
				}
				return 0, KindVersion.Err()
			}
		}
	}
	p.major, p.minor = b[v+5]-'0', b[v+7]-'0'
	if p.major == 1 && p.minor > 1 {
		p.minor = 1
	}
	return v + 10, nil
}

// splitTarget classifies the request-target (RFC 9112 §3.2) and splits it
// into path and query. q is the offset of the first '?', or -1.
func (p *Parser) splitTarget(b []byte, q int) *Error {
	t := p.target
	p.query = span{t.end, t.end}
	if q >= 0 {
		p.query = span{q + 1, t.end}
	}
	pathEnd := t.end
	if q >= 0 {
		pathEnd = q
	}
	switch c := b[t.off]; {
	case c == '/':
		p.path = span{t.off, pathEnd}
		return nil
	case c == '*' && t.end == t.off+1:
		if p.methodID != OPTIONS {
			return KindTarget.Err()
		}
		p.path = t
		return nil
	}
	if p.methodID == CONNECT {
		// authority-form: host ":" port, nothing else.
		if q >= 0 || !validHost(t.in(b), true) {
			return KindTarget.Err()
		}
		p.path, p.authority = t, t
		return nil
	}
	// absolute-form: "http" or "https" "://" authority path-abempty.
	s := t.off
	for s < pathEnd && b[s] != ':' {
		s++
	}
	scheme := b[t.off:s]
	if !equalFold(scheme, "http") && !equalFold(scheme, "https") ||
		pathEnd-s < 3 || b[s+1] != '/' || b[s+2] != '/' {
		return KindTarget.Err()
	}
	a := s + 3
	e := a
	for e < pathEnd && b[e] != '/' {
		e++
	}
	if e == a || !validHost(b[a:e], false) {
		return KindTarget.Err()
	}
	p.authority = span{a, e}
	p.path = span{e, pathEnd}
	return nil
}

// validHost checks uri-host [":" port] (RFC 9110 §7.2): a registered name or
// an IP literal in brackets, then an optional port of digits. No userinfo,
// no path. With needPort, the port must be present (authority-form).
func validHost(h []byte, needPort bool) bool {
	i := 0
	if len(h) > 0 && h[0] == '[' {
		for i < len(h) && h[i] != ']' {
			if c := h[i]; i > 0 && class[c]&cHex == 0 && c != ':' && c != '.' {
				return false
			}
			i++
		}
		if i == len(h) {
			return false
		}
		i++
	} else {
		i = skipClass(h, 0, cRegName)
	}
	if i == len(h) {
		return !needPort
	}
	if h[i] != ':' {
		return false
	}
	for _, c := range h[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return !needPort || i+1 < len(h)
}

// --- header section ---------------------------------------------------------

func (p *Parser) parseHeaders(b []byte) *Error {
	if p.pos == p.headerStart && p.memo.ok && p.recall(b) {
		return p.endHead(b)
	}
	for {
		i := p.pos
		if i >= len(b) {
			return p.needHeaders(b)
		}
		if b[i] == '\r' || b[i] == '\n' {
			end, err := emptyLine(b, i)
			if err != nil {
				if err == errNeedMore {
					return p.needHeaders(b)
				}
				return err
			}
			if end-p.headerStart > p.limits.MaxHeaderBytes {
				return KindHeaderTooLarge.Err()
			}
			p.headEnd = end
			p.remember(b)
			return p.endHead(b)
		}
		next, f, err := parseField(b, i)
		if err != nil {
			if err == errNeedMore {
				return p.needHeaders(b)
			}
			return err
		}
		if next-p.headerStart > p.limits.MaxHeaderBytes || len(p.fields) >= p.limits.MaxHeaders {
			return KindHeaderTooLarge.Err()
		}
		p.fields = append(p.fields, f)
		// Only a few names matter to the server; their lengths rule out
		// most fields before any byte is compared.
		if n := f.name.end - f.name.off; n < 32 && digestLengths&(1<<n) != 0 {
			if err := p.digest(b, f); err != nil {
				return err
			}
		}
		p.pos = next
	}
}

// remember keeps the header section just parsed, and its results, in the
// memo.
func (p *Parser) remember(b []byte) {
	n := p.headEnd - p.headerStart
	if n > maxMemo {
		p.memo.ok = false
		return
	}
	m := &p.memo
	m.section = append(m.section[:0], b[p.headerStart:p.headEnd]...)
	m.fields = m.fields[:0]
	for _, f := range p.fields {
		m.fields = append(m.fields, f.shift(-p.headerStart))
	}
	m.digest = p.digested
	m.digest.host = m.digest.host.shift(-p.headerStart)
	m.ok = true
}

// recall reports whether the header section at headerStart is the one in
// the memo, and if so takes its fields and digest.
func (p *Parser) recall(b []byte) bool {
	m := &p.memo
	end := p.headerStart + len(m.section)
	if end > len(b) || string(b[p.headerStart:end]) != string(m.section) {
		return false
	}
	for _, f := range m.fields {
		p.fields = append(p.fields, f.shift(p.headerStart))
	}
	p.digested = m.digest
	p.host = p.host.shift(p.headerStart)
	p.pos, p.headEnd = end, end
	return true
}

// digestLengths has bit n set for each length of a name digest looks at.
const digestLengths = 1<<4 | 1<<6 | 1<<10 | 1<<12 | 1<<14 | 1<<17

func (p *Parser) needHeaders(b []byte) *Error {
	if len(b)-p.headerStart > p.limits.MaxHeaderBytes {
		return KindHeaderTooLarge.Err()
	}
	return errNeedMore
}

// emptyLine matches CRLF at b[i]; a bare CR or LF is an error.
func emptyLine(b []byte, i int) (int, *Error) {
	if b[i] == '\n' {
		return 0, KindLineEnding.Err()
	}
	if i+1 >= len(b) {
		return 0, errNeedMore
	}
	if b[i+1] != '\n' {
		return 0, KindLineEnding.Err()
	}
	return i + 2, nil
}

// parseField parses the field line at b[i] (RFC 9112 §5): a token, a colon
// with no whitespace before it, optional whitespace, a value of visible
// characters, spaces, tabs and obs-text, CRLF. It returns the offset after
// the CRLF. It fails as soon as a byte cannot belong to a valid line, so a
// bad line is rejected before it is complete.
func parseField(b []byte, i int) (int, field, *Error) {
	if c := b[i]; c == ' ' || c == '\t' {
		// obs-fold, or whitespace between the request line and the first
		// field (RFC 9112 §2.2): both rejected.
		return 0, field{}, KindObsFold.Err()
	}
	j := skipClass(b, i, cToken)
	if j == len(b) {
		return 0, field{}, errNeedMore
	}
	if b[j] != ':' || j == i {
		return 0, field{}, nameError(b, i, j)
	}
	k := j + 1
	for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
		k++
	}
	vs := k
	k = scanValue(b, k)
	if k+1 >= len(b) || b[k] != '\r' || b[k+1] != '\n' {
		return 0, field{}, lineEndError(b, k)
	}
	ve := k
	for ve > vs && (b[ve-1] == ' ' || b[ve-1] == '\t') {
		ve--
	}
	return k + 2, field{span{i, j}, span{vs, ve}}, nil
}

// nameError says what is wrong where a field name should have ended in a
// colon at b[j].
func nameError(b []byte, i, j int) *Error {
	switch {
	case b[j] == ':': // an empty name
		return KindHeaderName.Err()
	case j > i && isOWS(b[j]):
		return KindSpaceBeforeColon.Err()
	case b[j] == '\r':
		// A line without a colon, unless the CR is bare: wait to see.
		if j+1 == len(b) {
			return errNeedMore
		}
		if b[j+1] != '\n' {
			return KindLineEnding.Err()
		}
	case b[j] == '\n':
		return KindLineEnding.Err()
	}
	return KindHeaderName.Err()
}

// lineEndError says what is wrong where a value ended at b[k] without CRLF,
// or asks for more when the buffer ends first.
func lineEndError(b []byte, k int) *Error {
	switch {
	case k >= len(b):
		return errNeedMore
	case b[k] == '\n':
		return KindLineEnding.Err()
	case b[k] != '\r':
		return KindHeaderValue.Err()
	case k+1 == len(b):
		return errNeedMore
	}
	return KindLineEnding.Err() // CR not followed by LF
}

// scanValue returns the offset of the first byte at or after i that cannot be
// part of a field value: a control character other than HTAB (CR among them,
// which ends the value), or DEL. Values are most of a request's bytes, so it
// checks sixteen bytes at a time, as two words: a word is flagged when a byte
// is below 0x20 (bytes >= 0x80, obs-text, are allowed and masked out by &^x)
// or equal to 0x7f (a zero byte in x^0x7f..). The lowest flagged byte is
// always a true one: the borrows that cause false flags only run upwards.
func scanValue(b []byte, i int) int {
	for i+16 <= len(b) {
		w := b[i : i+16 : i+16]
		mx, my := flagged(binary.LittleEndian.Uint64(w)), flagged(binary.LittleEndian.Uint64(w[8:]))
		if mx|my == 0 {
			i += 16
			continue
		}
		j := i + 8 + bits.TrailingZeros64(my)>>3
		if mx != 0 {
			j = i + bits.TrailingZeros64(mx)>>3
		}
		if b[j] != '\t' {
			return j
		}
		i = j + 1
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return i
		}
	}
	return i
}

// flagged marks (high bit of each byte) the bytes of x below 0x20 or equal
// to 0x7f; see scanValue.
func flagged(x uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	d := x ^ (0x7f * ones)
	return ((x-0x20*ones)&^x | (d-ones)&^d) & highs
}

// digest records what the server must know from the fields that frame the
// message or the connection. Names are compared without case.
//
// Each name is first compared with its usual spelling, which the compiler
// turns into a word or two of comparison, and only then without case: most
// clients send the usual spelling.
func (p *Parser) digest(b []byte, f field) *Error {
	name, value := f.name.in(b), f.value.in(b)
	switch len(name) {
	case 4:
		if string(name) == "Host" || equalFold(name, "host") {
			p.hosts++
			p.host = f.value
			// An http(s) URI always has a host, so an empty Host names
			// nothing this server could be (RFC 9112 §3.2).
			if len(value) == 0 || !validHost(value, false) {
				return KindHost.Err()
			}
		}
	case 6:
		if (string(name) == "Expect" || equalFold(name, "expect")) && len(value) > 0 {
			if equalFold(value, "100-continue") {
				p.expect100 = true
			} else {
				p.expectOther = true
			}
		}
	case 10:
		if string(name) == "Connection" || equalFold(name, "connection") {
			switch { // the common single-token values first
			case string(value) == "keep-alive":
				p.connKeepAlive = true
			case string(value) == "close":
				p.connClose = true
			default:
				p.connectionTokens(value)
			}
		}
	case 12:
		// Content-Type is a singleton field; two differing types make the
		// body's meaning ambiguous (RFC 9110 §5.3).
		if string(name) == "Content-Type" || equalFold(name, "content-type") {
			if p.contentTypes++; p.contentTypes > 1 {
				return KindHeaderValue.Err()
			}
		}
	case 14:
		if string(name) == "Content-Length" || equalFold(name, "content-length") {
			n, ok := parseContentLength(value)
			if !ok {
				return KindContentLength.Err()
			}
			if p.clSeen && n != p.contentLength {
				return KindContentLengthConflict.Err()
			}
			p.clSeen, p.contentLength = true, n
		}
	case 17:
		if string(name) == "Transfer-Encoding" || equalFold(name, "transfer-encoding") {
			p.transferCodings(value)
		}
	}
	return nil
}

// parseContentLength accepts 1*DIGIT only (RFC 9110 §8.6): no sign, no
// whitespace inside, no list, and nothing that overflows int64. It also
// refuses leading zeros ("005", "0200"): valid digits, but some parsers read
// them as octal, and a length two parsers disagree on is a smuggling vector.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 1 && v[0] == '0' {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// transferCodings walks a Transfer-Encoding list (RFC 9112 §6.1). chunked
// must be the final coding and appear once; any other coding we cannot
// decode. Several fields form one list, in order.
func (p *Parser) transferCodings(v []byte) {
	p.teSeen = true
	for len(v) > 0 {
		var elem []byte
		if c := indexByte(v, ','); c >= 0 {
			elem, v = v[:c], v[c+1:]
		} else {
			elem, v = v, nil
		}
		elem = trimOWS(elem)
		if len(elem) == 0 {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		if p.chunked {
			p.teBad = true // something after chunked
		}
		name := elem
		if s := indexByte(elem, ';'); s >= 0 {
			name = trimOWS(elem[:s])
		}
		if !allToken(name) {
			p.teBad = true
			continue
		}
		if equalFold(name, "chunked") {
			if len(name) != len(elem) {
				p.teBad = true // chunked takes no parameters
			}
			p.chunked = true
			continue
		}
		p.teUnknown = true
	}
}

func (p *Parser) connectionTokens(v []byte) {
	for len(v) > 0 {
		var t []byte
		if c := indexByte(v, ','); c >= 0 {
			t, v = trimOWS(v[:c]), v[c+1:]
		} else {
			t, v = trimOWS(v), nil
		}
		switch {
		case equalFold(t, "close"):
			p.connClose = true
		case equalFold(t, "keep-alive"):
			p.connKeepAlive = true
		}
	}
}

// endHead applies the rules that need the whole head (RFC 9112 §3.2, §6).
func (p *Parser) endHead(b []byte) *Error {
	http11 := p.minor >= 1
	if p.hosts > 1 || http11 && p.hosts == 0 {
		return KindHost.Err()
	}
	if p.teSeen {
		switch {
		case !http11:
			// RFC 9112 §6.1: treat the framing of an HTTP/1.0 message with
			// Transfer-Encoding as faulty.
			return KindTransferEncoding.Err()
		case p.clSeen:
			return KindContentLengthAndTE.Err()
		case p.teBad || !p.chunked:
			return KindTransferEncoding.Err()
		case p.teUnknown:
			return KindTransferCodingUnknown.Err()
		}
	}
	if !http11 {
		p.expect100, p.expectOther = false, false // RFC 9110 §10.1.1
	}
	if p.expectOther {
		return KindExpectation.Err()
	}
	if p.clSeen && p.contentLength > p.limits.MaxBody {
		return KindBodyTooLarge.Err()
	}
	switch {
	case p.chunked:
		p.state, p.rpos, p.wpos = stChunkSize, p.headEnd, p.headEnd
	case p.contentLength > 0:
		p.state = stBody
	default:
		p.state = stDone
	}
	return nil
}

// --- body -------------------------------------------------------------------

func (p *Parser) parseBody(b []byte) *Error {
	if p.state == stBody {
		if len(b) < p.headEnd+int(p.contentLength) {
			return errNeedMore
		}
		p.state = stDone
		return nil
	}
	for {
		switch p.state {
		case stChunkSize:
			if err := p.chunkSize(b, int64(p.rpos-p.headEnd), int64(p.wpos-p.headEnd)); err != nil {
				return err
			}
		case stChunkData:
			m := int64(len(b) - p.rpos)
			if m == 0 {
				return errNeedMore
			}
			m = min(m, p.chunkLeft)
			if p.wpos != p.rpos {
				copy(b[p.wpos:], b[p.rpos:p.rpos+int(m)])
			}
			p.wpos += int(m)
			p.rpos += int(m)
			p.chunkLeft -= m
			if p.chunkLeft > 0 {
				return errNeedMore
			}
			p.state = stChunkEnd
		case stChunkEnd:
			if p.rpos >= len(b) {
				return errNeedMore
			}
			if b[p.rpos] != '\r' {
				return KindChunk.Err()
			}
			if p.rpos+1 >= len(b) {
				return errNeedMore
			}
			if b[p.rpos+1] != '\n' {
				return KindChunk.Err()
			}
			p.rpos += 2
			p.state = stChunkSize
		case stTrailers:
			return p.parseTrailers(b)
		default:
			return nil
		}
	}
}

// chunkSize parses chunk-size [chunk-ext] CRLF at rpos (RFC 9112 §7.1).
// framed is the raw body consumed before rpos, decoded the body decoded so
// far: the limits count them the same whether the body is whole or streamed.
func (p *Parser) chunkSize(b []byte, framed, decoded int64) *Error {
	i := p.rpos
	// Framing costs at most as much again as the data: a body of one-byte
	// chunks is not a way around MaxBody for the buffer holding it.
	if framed > 2*p.limits.MaxBody+maxChunkLine {
		return KindBodyTooLarge.Err()
	}
	j := i
	var size int64
	for j < len(b) && class[b[j]]&cHex != 0 {
		if size > math.MaxInt64>>4 {
			return KindChunk.Err()
		}
		size = size<<4 | unhex(b[j])
		j++
	}
	if j == len(b) {
		return p.needChunkLine(b, i)
	}
	// At most 16 hex digits, leading zeros included, as Go's net/http
	// reads them: the grammar allows any number, but a parser that stops
	// at a fixed width would read 000…01 as 0, the last chunk, and take
	// the rest for the next request.
	if j == i || j-i > maxChunkDigits {
		return KindChunk.Err()
	}
	j, err := chunkExt(b, j)
	if err == errNeedMore {
		return p.needChunkLine(b, i)
	}
	if err != nil {
		return err
	}
	if j-i > maxChunkLine {
		return KindChunk.Err()
	}
	p.rpos = j
	if size == 0 {
		p.state, p.trailerStart = stTrailers, j
		return nil
	}
	if decoded > p.limits.MaxBody-size {
		return KindBodyTooLarge.Err()
	}
	p.chunkLeft, p.state = size, stChunkData
	return nil
}

func (p *Parser) needChunkLine(b []byte, lineStart int) *Error {
	if len(b)-lineStart > maxChunkLine {
		return KindChunk.Err()
	}
	return errNeedMore
}

// chunkExt matches *( BWS ";" BWS name [ BWS "=" BWS value ] ) CRLF at b[i],
// where value is a token or a quoted-string. Whitespace is only allowed where
// an extension follows it. It returns the offset after the CRLF.
func chunkExt(b []byte, i int) (int, *Error) {
	for {
		j := skipOWS(b, i)
		if j == len(b) {
			return 0, errNeedMore
		}
		if b[j] != ';' {
			if j != i {
				return 0, KindChunk.Err()
			}
			break
		}
		j = skipOWS(b, j+1)
		n := j
		for j < len(b) && isToken(b[j]) {
			j++
		}
		if j == len(b) {
			return 0, errNeedMore
		}
		if j == n {
			return 0, KindChunk.Err()
		}
		k := skipOWS(b, j)
		if k == len(b) {
			return 0, errNeedMore
		}
		if b[k] == '=' {
			var err *Error
			if j, err = chunkExtValue(b, skipOWS(b, k+1)); err != nil {
				return 0, err
			}
		}
		i = j
	}
	if b[i] != '\r' {
		if b[i] == '\n' {
			return 0, KindLineEnding.Err()
		}
		return 0, KindChunk.Err()
	}
	if i+1 == len(b) {
		return 0, errNeedMore
	}
	if b[i+1] != '\n' {
		return 0, KindLineEnding.Err()
	}
	return i + 2, nil
}

// chunkExtValue matches a token or a quoted-string at b[i].
func chunkExtValue(b []byte, i int) (int, *Error) {
	if i == len(b) {
		return 0, errNeedMore
	}
	if b[i] != '"' {
		j := i
		for j < len(b) && isToken(b[j]) {
			j++
		}
		if j == len(b) {
			return 0, errNeedMore
		}
		if j == i {
			return 0, KindChunk.Err()
		}
		return j, nil
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			j++
			if j == len(b) {
				return 0, errNeedMore
			}
			if c := b[j]; c < 0x20 && c != '\t' || c == 0x7f {
				return 0, KindChunk.Err()
			}
		case class[c]&cQdText == 0:
			return 0, KindChunk.Err()
		}
	}
	return 0, errNeedMore
}

// parseTrailers validates the trailer section and discards it: iolab's
// handlers do not read trailers, and a trailer must never change framing.
func (p *Parser) parseTrailers(b []byte) *Error {
	for {
		i := p.rpos
		if i >= len(b) {
			return p.needTrailers(b)
		}
		if b[i] == '\r' || b[i] == '\n' {
			end, err := emptyLine(b, i)
			if err == errNeedMore {
				return p.needTrailers(b)
			}
			if err != nil {
				return err
			}
			p.rpos = end
			p.state = stDone
			return nil
		}
		next, f, err := parseField(b, i)
		if err == errNeedMore {
			return p.needTrailers(b)
		}
		if err != nil {
			return err
		}
		if prohibitedTrailer(f.name.in(b)) {
			return KindTrailer.Err()
		}
		p.trailers++
		if next-p.trailerStart > p.limits.MaxHeaderBytes || p.trailers > p.limits.MaxHeaders {
			return KindHeaderTooLarge.Err()
		}
		p.rpos = next
	}
}

// prohibitedTrailer reports fields that must be known before the content
// (RFC 9110 §6.5.1): framing, routing, authentication and content format. A
// request that sends one as a trailer is trying to change what was already
// decided.
func prohibitedTrailer(name []byte) bool {
	switch len(name) {
	case 4:
		return equalFold(name, "host")
	case 12:
		return equalFold(name, "content-type")
	case 13:
		return equalFold(name, "authorization") || equalFold(name, "content-range")
	case 14:
		return equalFold(name, "content-length")
	case 16:
		return equalFold(name, "content-encoding")
	case 17:
		return equalFold(name, "transfer-encoding")
	}
	return false
}

func (p *Parser) needTrailers(b []byte) *Error {
	if len(b)-p.trailerStart > p.limits.MaxHeaderBytes {
		return KindHeaderTooLarge.Err()
	}
	return errNeedMore
}

// finish turns the offsets of a complete request into views of b and returns
// the request's length.
func (p *Parser) finish(b []byte) int {
	r := &p.req
	p.finishHead(r, b)
	// The body's capacity ends with it, so a handler appending to it cannot
	// overwrite the next pipelined request.
	n := p.headEnd
	switch {
	case p.chunked:
		r.Body = b[p.headEnd:p.wpos:p.wpos]
		n = p.rpos
	case p.contentLength > 0:
		n = p.headEnd + int(p.contentLength)
		r.Body = b[p.headEnd:n:n]
	default:
		r.Body = b[p.headEnd:p.headEnd:p.headEnd]
	}
	r.BodySize = int64(len(r.Body))
	p.state = stDone
	return n
}

// finishHead makes r's views of the request's head into b, which holds it
// from its first byte; Body is left for the caller.
func (p *Parser) finishHead(r *Request, b []byte) {
	r.Method = b[p.method.off:p.method.end]
	r.MethodID = p.methodID
	r.Target = b[p.target.off:p.target.end]
	r.Path = b[p.path.off:p.path.end]
	if len(r.Path) == 0 {
		r.Path = slash // absolute-form without a path means "/"
	}
	r.Query = b[p.query.off:p.query.end]
	r.Major, r.Minor = p.major, p.minor
	r.raw, r.headLen, r.fields = b, p.headEnd, p.fields
	r.Host = nil
	if p.hosts > 0 {
		r.Host = b[p.host.off:p.host.end]
	}
	if p.authority.end > 0 {
		r.Host = b[p.authority.off:p.authority.end]
	}
	r.ContentLength = p.contentLength
	r.Chunked = p.chunked
	r.KeepAlive = !p.connClose && (p.minor >= 1 || p.connKeepAlive)
	r.ExpectContinue = p.expect100
	r.Streamed = false
	r.BodyStream = nil
}

// Head returns the request in progress with its head only (Body empty), as
// views into buf, the buffer Parse was last given: valid when BodyPending,
// to decide whether to stream the body.
func (p *Parser) Head(buf []byte) *Request {
	p.finishHead(&p.req, buf)
	p.req.Body = buf[p.headEnd:p.headEnd:p.headEnd]
	p.req.BodySize = 0
	return &p.req
}

// CloneRequest copies the request the last Parse, Head or StreamBody gave
// into dst, appended to buf (grown as needed; dst keeps its fields' memory),
// so that it outlives the buffers the parser's views point into: for a
// handler that runs on another goroutine. It returns the extended buffer:
// several requests may be cloned into one, each keeping its views (a
// buffer grown meanwhile leaves the earlier ones in the old array).
func (p *Parser) CloneRequest(dst *Request, buf []byte) []byte {
	r := &p.req
	start := len(buf)
	buf = append(append(buf, r.raw[:p.headEnd]...), r.Body...)
	b := buf[start:len(buf):len(buf)]
	fields := append(dst.fields[:0], p.fields...)
	p.finishHead(dst, b)
	dst.fields = fields
	dst.Body = b[p.headEnd:]
	dst.BodySize, dst.Streamed = r.BodySize, r.Streamed
	return buf
}

// --- streaming bodies -------------------------------------------------------

// BodyPending reports that the head of the request in progress is complete
// and its body has not all arrived: the moment a caller may choose to take
// the body in pieces (StreamBody) rather than wait for it whole.
func (p *Parser) BodyPending() bool {
	return p.state >= stBody && p.state < stDone && !p.streaming
}

// StreamBody detaches the request in progress from the buffer, so that its
// body is taken in pieces (NextBody) instead of whole: a body larger than
// any buffer then never sits in memory. Call it when BodyPending, with the
// buffer Parse was last given. The head is copied into the parser's own
// memory, so Request's views stay valid while the caller drops the bytes it
// has consumed; they last until the next request begins, and Request.Body
// stays empty (Request.BodySize counts what NextBody has handed over).
//
// It returns how many bytes at the start of buf are consumed (the caller
// drops them and passes what follows to NextBody), and the part of the body
// the parser had already decoded (a chunked body is decoded in place as it
// arrives): the first piece, a view into buf.
func (p *Parser) StreamBody(buf []byte) (used int, first []byte) {
	p.head = append(p.head[:0], buf[:p.headEnd]...)
	p.finishHead(&p.req, p.head)
	p.streaming = true
	p.req.Streamed = true
	used = p.headEnd
	if p.chunked {
		first = buf[p.headEnd:p.wpos:p.wpos]
		used = p.rpos
		if p.state == stTrailers {
			used = p.trailerStart // trailers are taken whole, by NextBody
		}
		p.streamed = int64(len(first))
		p.framed = int64(used - p.headEnd)
	}
	p.req.Body = p.head[p.headEnd:p.headEnd:p.headEnd]
	p.req.BodySize = p.streamed
	return used, first
}

// NextBody takes the next piece of a streamed body (see StreamBody) from
// the start of b: the bytes that follow what earlier calls consumed. It
// returns the piece (decoded, a view into b), how many bytes of b it
// consumed, and whether the body is complete (the request is then done and
// the next Parse begins a new one, after the used bytes). A call that
// consumes nothing needs more input. A body that breaks a limit or the
// chunked framing is an *Error, as from Parse, and every call after it
// returns the same error.
func (p *Parser) NextBody(b []byte) (piece []byte, used int, done bool, err error) {
	switch {
	case p.state == stFailed:
		return nil, 0, false, p.err
	case !p.streaming || p.state == stDone:
		return nil, 0, true, nil
	case !p.chunked:
		n := int(min(int64(len(b)), p.contentLength-p.streamed))
		p.streamed += int64(n)
		p.req.BodySize = p.streamed
		if p.streamed == p.contentLength {
			p.state = stDone
		}
		return b[:n:n], n, p.state == stDone, nil
	}
	p.rpos = 0
	if p.state == stTrailers {
		p.trailerStart, p.trailers = 0, 0 // taken whole: parsed again from the start
	}
	for {
		var e *Error
		switch p.state {
		case stChunkSize:
			e = p.chunkSize(b, p.framed+int64(p.rpos), p.streamed)
		case stChunkData:
			m := min(int64(len(b)-p.rpos), p.chunkLeft)
			if m == 0 {
				return nil, p.consumed(), false, nil
			}
			piece = b[p.rpos : p.rpos+int(m) : p.rpos+int(m)]
			p.rpos += int(m)
			p.chunkLeft -= m
			p.streamed += m
			p.req.BodySize = p.streamed
			if p.chunkLeft == 0 {
				p.state = stChunkEnd
			}
			return piece, p.consumed(), false, nil
		case stChunkEnd:
			switch {
			case p.rpos == len(b):
				e = errNeedMore
			case b[p.rpos] != '\r':
				e = KindChunk.Err()
			case p.rpos+1 == len(b):
				e = errNeedMore
			case b[p.rpos+1] != '\n':
				e = KindChunk.Err()
			default:
				p.rpos += 2
				p.state = stChunkSize
			}
		case stTrailers:
			e = p.parseTrailers(b)
			if e == errNeedMore {
				p.rpos = p.trailerStart
				return nil, p.consumed(), false, nil
			}
			if e == nil {
				return nil, p.consumed(), true, nil // parseTrailers set stDone
			}
		}
		switch {
		case e == errNeedMore:
			return nil, p.consumed(), false, nil
		case e != nil:
			p.state, p.err = stFailed, e
			return nil, 0, false, e
		}
	}
}

// consumed ends a NextBody call on a chunked body: the bytes it used, which
// count toward the framing bound.
func (p *Parser) consumed() int {
	p.framed += int64(p.rpos)
	return p.rpos
}

// --- small helpers ----------------------------------------------------------

// skipClass returns the offset of the first byte at or after i not in class
// c, or len(b). Four bytes per step while they last: one branch for four
// table lookups.
func skipClass(b []byte, i int, c uint8) int {
	for i+4 <= len(b) {
		w := b[i : i+4 : i+4]
		if class[w[0]]&class[w[1]]&class[w[2]]&class[w[3]]&c == 0 {
			break
		}
		i += 4
	}
	for i < len(b) && class[b[i]]&c != 0 {
		i++
	}
	return i
}

var slash = []byte("/")

func skipOWS(b []byte, i int) int {
	for i < len(b) && isOWS(b[i]) {
		i++
	}
	return i
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func allToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isToken(c) {
			return false
		}
	}
	return true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
