package http1

import (
	"math"
)

// The response framer is the client's half of this package: the load
// generator (loadgen) frames every response it reads with it, so that what
// it counts is what a strict HTTP/1.1 client would have seen. Like Parser it
// is incremental, keeps offsets rather than pointers (the caller may move or
// grow the buffer between calls), and allocates nothing.
//
// It is strict where framing is at stake: a response two clients could
// frame differently (both Content-Length and Transfer-Encoding, differing
// lengths, leading zeros, chunked twice, bare CR or LF, folding onto a
// framing field) is an error, because a load generator that guesses would
// miscount every response after it. Anything that only carries meaning the
// framer does not need (the reason phrase, most fields, trailers) is checked
// for well-formedness and skipped.
//
// The framer keeps its own copies of the small scanning helpers instead of
// sharing the request parser's: the two evolve separately, and a change
// tuned for requests must not silently change how responses are framed.

// DefaultMaxResponseHead bounds a response's status line and header section
// (and, separately, a chunked body's trailer section) when
// ResponseParser.MaxHeadBytes is 0. Responses carry larger heads than
// requests do (cookies, security policies), hence more than MaxHeaderBytes.
const DefaultMaxResponseHead = 64 << 10

// respMaxChunkLine bounds a chunk-size line, extensions included.
const respMaxChunkLine = 4096

// respMaxMemo bounds the head the framer remembers (see respMemo).
const respMaxMemo = 512

// Response framing states. A response moves down this list; any state may
// end in rsFailed, after which every call returns the same error.
const (
	rsStatusLine = iota
	rsHeaders
	rsBody       // Content-Length body
	rsChunkSize  // at a chunk-size line
	rsChunkData  // inside chunk data
	rsChunkEnd   // at the CRLF after chunk data
	rsTrailers   // in the trailer section
	rsUntilClose // body delimited by the end of the connection
	rsDone
	rsFailed
)

// ResponseError is a response that cannot be framed. The connection cannot
// be trusted past it: whatever follows may belong to this response or not.
type ResponseError struct {
	Reason string
}

func (e *ResponseError) Error() string { return "http1: response: " + e.Reason }

// The framing errors, preallocated so that failing allocates nothing.
var (
	errRespNeedMore         = &ResponseError{"need more data"}
	errRespStatusLine       = &ResponseError{"malformed status line"}
	errRespVersion          = &ResponseError{"HTTP major version other than 1"}
	errRespLineEnding       = &ResponseError{"bare CR or LF"}
	errRespHeaderName       = &ResponseError{"invalid header field name"}
	errRespHeaderValue      = &ResponseError{"invalid header field value"}
	errRespObsFold          = &ResponseError{"line folding onto a framing field or before the first field"}
	errRespContentLength    = &ResponseError{"invalid or conflicting Content-Length"}
	errRespTransferEncoding = &ResponseError{"ambiguous Transfer-Encoding (with Content-Length, in HTTP/1.0, chunked twice or malformed)"}
	errRespChunk            = &ResponseError{"invalid chunked framing"}
	errRespHeadTooLarge     = &ResponseError{"response head or trailer section too large"}
	errRespTruncated        = &ResponseError{"connection closed before the response ended"}
)

// Response is the response framed by the last successful
// ResponseParser.Parse (or EOF). Body is a view into the buffer passed to
// Parse, valid until the next call to Parse, EOF or Reset, or until the caller
// modifies or moves that buffer.
type Response struct {
	// Status is the status code, 100..599.
	Status int
	// Major and Minor are the HTTP version (1.x above 1 reads as 1.1).
	Major, Minor uint8
	// ContentLength is the Content-Length value, or -1 when absent.
	ContentLength int64
	// Chunked reports a chunked body.
	Chunked bool
	// Close reports that nothing follows this response on the connection:
	// "Connection: close", HTTP/1.0 without keep-alive, a body delimited by
	// the end of the connection, 101 Switching Protocols, or a 2xx to
	// CONNECT (the connection becomes a tunnel).
	Close bool
	// HeadLen is the length of the status line and header section.
	HeadLen int
	// Body is the body when it is contiguous in the buffer: a
	// Content-Length or close-delimited body, or a chunked body decoded in
	// place (ResponseParser.DecodeChunked). It is nil for a chunked body
	// that was only checked, and empty when there is no body.
	Body []byte
	// BodyLen is the body's length, decoded.
	BodyLen int64
}

// Interim reports a 1xx response other than 101: informational, followed by
// the final response to the same request.
func (r *Response) Interim() bool { return r.Status < 200 && r.Status != 101 }

// ResponseParser frames HTTP/1.1 responses incrementally. The zero value is
// ready to use. A ResponseParser belongs to one connection and is not safe
// for concurrent use.
//
// Parse is given the connection's input starting at the first byte of the
// response being framed, and the method of the request it answers (HEAD and
// CONNECT change how a response is framed). It returns the number of bytes
// the response occupies, or ErrNeedMore; the caller reads more, appends, and
// calls again with the longer buffer (possibly moved: the framer keeps
// offsets). Pipelined responses are framed one after another by slicing off
// what each one used.
type ResponseParser struct {
	// DecodeChunked makes Parse move chunk data over the chunk framing, in
	// place, so that Response.Body is one contiguous slice. Without it the
	// framing is only checked, which is cheaper: set it only when the body
	// is read. Bytes at or beyond the returned length are never touched.
	DecodeChunked bool
	// MaxHeadBytes bounds the status line and header section, and the
	// trailer section of a chunked body (0: DefaultMaxResponseHead).
	MaxHeadBytes int

	resp Response
	memo respMemo
	respProgress
}

// respMemo remembers the last head framed and the framer's state just after
// it. A server answering a benchmark sends the same head over and over (its
// Date changes once a second), and a head identical to the last, answering
// the same method, frames identically: every offset the state holds is
// relative to the response's first byte. Then one comparison replaces
// framing the head line by line.
type respMemo struct {
	head   []byte
	method Method
	state  respProgress
	ok     bool
}

// respProgress is everything known about the response in progress, zeroed
// in one block when the next one begins.
type respProgress struct {
	state uint8
	err   *ResponseError

	pos     int // start of the next unparsed line of the head
	status  int
	major   uint8
	minor   uint8
	fields  int
	headEnd int

	contentLength int64
	clSeen        bool
	teSeen        bool
	chunked       bool // the final coding is chunked
	chunkedSeen   bool // chunked appeared in the list
	teBad         bool // chunked twice, with parameters, or a malformed coding
	connClose     bool
	connKeepAlive bool
	lastFraming   bool // the last field frames the message: folding onto it is refused
	noBody        bool
	untilClose    bool
	tunnel        bool // 101, or 2xx to CONNECT

	// Chunked bodies: raw bytes are read at rpos; the decoded body ends at
	// wpos (written there when DecodeChunked, only counted otherwise).
	rpos, wpos   int
	chunkLeft    int64
	trailerStart int
}

// Reset forgets the response in progress; the next Parse starts a new one.
func (p *ResponseParser) Reset() { p.respProgress = respProgress{} }

// Response returns the response framed by the last successful Parse or EOF.
func (p *ResponseParser) Response() *Response { return &p.resp }

// InProgress reports whether part of a response has been framed: the
// connection is between the first byte of a response and its last.
func (p *ResponseParser) InProgress() bool {
	return p.state != rsDone && (p.state != rsStatusLine || p.pos != 0)
}

// Need returns the total length the buffer must reach for the response in
// progress to complete, when the framer knows it (inside a Content-Length
// body), or 0. A caller uses it to grow its buffer once.
func (p *ResponseParser) Need() int {
	if p.state == rsBody {
		return p.headEnd + int(p.contentLength)
	}
	return 0
}

func (p *ResponseParser) maxHead() int {
	if p.MaxHeadBytes > 0 {
		return p.MaxHeadBytes
	}
	return DefaultMaxResponseHead
}

// Parse frames the response at the start of buf, which answers a request
// with the given method. On success it returns the number of bytes the
// response occupies and Response describes it; an interim (1xx) response is
// returned like any other, and the final response follows it. It returns
// ErrNeedMore when buf ends first, and a *ResponseError when the response
// cannot be framed; after that every call returns the same error.
func (p *ResponseParser) Parse(buf []byte, method Method) (int, error) {
	switch p.state {
	case rsDone:
		p.Reset()
	case rsFailed:
		return 0, p.err
	}
	var err *ResponseError
	if p.state == rsStatusLine && p.pos == 0 && p.memo.ok && p.recall(buf, method) {
		// The head is the one framed last: its state is taken whole.
	} else if p.state == rsStatusLine {
		err = p.statusLine(buf)
	}
	if err == nil && p.state == rsHeaders {
		err = p.headers(buf, method)
	}
	if err == nil && p.state >= rsBody && p.state < rsDone {
		err = p.body(buf)
	}
	switch {
	case err == errRespNeedMore:
		return 0, ErrNeedMore
	case err != nil:
		p.state, p.err = rsFailed, err
		return 0, err
	}
	return p.finish(buf, p.rpos), nil
}

// EOF is called when the connection has ended with buf not yet framed. An
// empty buf between responses is a clean end: 0 and no error. A response
// whose body is delimited by the end of the connection completes with all
// of buf. Anything else was cut short, and is an error.
func (p *ResponseParser) EOF(buf []byte, method Method) (int, error) {
	if p.state == rsDone {
		p.Reset()
	}
	if len(buf) == 0 && p.state == rsStatusLine {
		return 0, nil
	}
	n, err := p.Parse(buf, method)
	if err != ErrNeedMore {
		return n, err
	}
	if p.state == rsUntilClose {
		return p.finish(buf, len(buf)), nil
	}
	p.state, p.err = rsFailed, errRespTruncated
	return 0, errRespTruncated
}

// needHead asks for more of an incomplete head, unless it is already larger
// than it may ever be.
func (p *ResponseParser) needHead(b []byte) *ResponseError {
	if len(b) > p.maxHead() {
		return errRespHeadTooLarge
	}
	return errRespNeedMore
}

// --- status line --------------------------------------------------------------

// statusLine matches HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (RFC 9112
// §4; a missing reason with its space is accepted, as every client does),
// failing at the first byte that cannot match.
func (p *ResponseParser) statusLine(b []byte) *ResponseError {
	if len(b) >= 9 && string(b[:9]) == "HTTP/1.1 " {
		p.major, p.minor = 1, 1
	} else {
		const shape = "HTTP/d.d "
		for i := 0; i < len(shape); i++ {
			if i >= len(b) {
				return p.needHead(b)
			}
			c := b[i]
			if i == 5 || i == 7 {
				if c < '0' || c > '9' {
					return errRespStatusLine
				}
			} else if c != shape[i] {
				return errRespStatusLine
			}
		}
		p.major, p.minor = b[5]-'0', b[7]-'0'
		if p.major != 1 {
			return errRespVersion
		}
		p.minor = min(p.minor, 1)
	}
	status := 0
	for i := 9; i < 12; i++ {
		if i >= len(b) {
			return p.needHead(b)
		}
		c := b[i]
		if c < '0' || c > '9' {
			return errRespStatusLine
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 || status > 599 {
		return errRespStatusLine
	}
	j := 12
	if j >= len(b) {
		return p.needHead(b)
	}
	switch b[j] {
	case ' ':
		j = scanValue(b, j+1) // reason-phrase: HTAB, SP, VCHAR, obs-text
	case '\r', '\n':
	default:
		return errRespStatusLine
	}
	if err := respLineEnd(b, j, errRespStatusLine); err != nil {
		if err == errRespNeedMore {
			return p.needHead(b)
		}
		return err
	}
	p.status = status
	p.pos = j + 2
	if p.pos > p.maxHead() {
		return errRespHeadTooLarge
	}
	p.state = rsHeaders
	return nil
}

// respLineEnd checks that a line ends with CRLF at b[k], where its content
// stopped; a byte other than CR there is what, and a bare CR or LF is a
// line-ending error.
func respLineEnd(b []byte, k int, what *ResponseError) *ResponseError {
	switch {
	case k >= len(b):
		return errRespNeedMore
	case b[k] == '\n':
		return errRespLineEnding
	case b[k] != '\r':
		return what
	case k+1 >= len(b):
		return errRespNeedMore
	case b[k+1] != '\n':
		return errRespLineEnding
	}
	return nil
}

// --- header section -------------------------------------------------------------

func (p *ResponseParser) headers(b []byte, method Method) *ResponseError {
	limit := p.maxHead()
	for {
		i := p.pos
		if i >= len(b) {
			return p.needHead(b)
		}
		switch b[i] {
		case '\r', '\n':
			if err := respLineEnd(b, i, errRespLineEnding); err != nil {
				if err == errRespNeedMore {
					return p.needHead(b)
				}
				return err
			}
			p.headEnd = i + 2
			if p.headEnd > limit {
				return errRespHeadTooLarge
			}
			if err := p.endHead(method); err != nil {
				return err
			}
			p.remember(b, method)
			return nil
		case ' ', '\t':
			// obs-fold: a client may read it as a space (RFC 9112 §5.2),
			// but not before the first field, and never where the folded
			// text would change how the message is framed.
			if p.fields == 0 || p.lastFraming {
				return errRespObsFold
			}
			k := scanValue(b, i)
			if err := respLineEnd(b, k, errRespHeaderValue); err != nil {
				if err == errRespNeedMore {
					return p.needHead(b)
				}
				return err
			}
			p.pos = k + 2
		default:
			next, err := p.field(b, i)
			if err != nil {
				if err == errRespNeedMore {
					return p.needHead(b)
				}
				return err
			}
			p.fields++
			p.pos = next
		}
		if p.pos > limit {
			return errRespHeadTooLarge
		}
	}
}

// field frames one field line at b[i] and digests what framing needs from
// it. It returns the offset after the line's CRLF.
func (p *ResponseParser) field(b []byte, i int) (int, *ResponseError) {
	next, nameEnd, vs, ve, err := respFieldLine(b, i)
	if err != nil {
		return 0, err
	}
	return next, p.digest(b[i:nameEnd], b[vs:ve])
}

// respFieldLine frames field-name ":" OWS field-value OWS CRLF at b[i]. It
// returns the offset after the CRLF, the end of the name, and the value's
// bounds without the surrounding whitespace.
func respFieldLine(b []byte, i int) (next, nameEnd, vs, ve int, err *ResponseError) {
	j := skipClass(b, i, cToken)
	if j >= len(b) {
		return 0, 0, 0, 0, errRespNeedMore
	}
	if b[j] != ':' || j == i {
		if b[j] == '\n' {
			return 0, 0, 0, 0, errRespLineEnding
		}
		return 0, 0, 0, 0, errRespHeaderName // empty name, non-token byte, space before colon, no colon
	}
	k := j + 1
	for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
		k++
	}
	vs = k
	k = scanValue(b, k)
	if err := respLineEnd(b, k, errRespHeaderValue); err != nil {
		return 0, 0, 0, 0, err
	}
	ve = k
	for ve > vs && (b[ve-1] == ' ' || b[ve-1] == '\t') {
		ve--
	}
	return k + 2, j, vs, ve, nil
}

// digest records the fields that frame the message or the connection. The
// usual spelling is compared first (a word or two of comparison), and only
// then without case.
func (p *ResponseParser) digest(name, value []byte) *ResponseError {
	p.lastFraming = false
	switch len(name) {
	case 10:
		if string(name) == "Connection" || equalFold(name, "connection") {
			p.lastFraming = true
			switch string(value) {
			case "close":
				p.connClose = true
			case "keep-alive":
				p.connKeepAlive = true
			default:
				p.connectionTokens(value)
			}
		}
	case 14:
		if string(name) == "Content-Length" || equalFold(name, "content-length") {
			p.lastFraming = true
			n, ok := parseContentLength(value)
			if !ok || p.clSeen && n != p.contentLength {
				return errRespContentLength
			}
			p.clSeen, p.contentLength = true, n
		}
	case 17:
		if string(name) == "Transfer-Encoding" || equalFold(name, "transfer-encoding") {
			p.lastFraming = true
			p.transferCodings(value)
		}
	}
	return nil
}

// remember keeps the head just framed and the state after it (see
// respMemo). It allocates only the first time, and never for a head longer
// than respMaxMemo.
func (p *ResponseParser) remember(b []byte, method Method) {
	m := &p.memo
	if p.headEnd > respMaxMemo {
		m.ok = false
		return
	}
	m.head = append(m.head[:0], b[:p.headEnd]...)
	m.method, m.state, m.ok = method, p.respProgress, true
}

// recall reports whether buf begins with the remembered head, answering the
// same method, and if so restores the state after it. A head ends at its
// first empty line, so a buffer that begins with a remembered head has that
// head, not a longer one.
func (p *ResponseParser) recall(buf []byte, method Method) bool {
	m := &p.memo
	if method != m.method || len(buf) < len(m.head) || len(m.head) > p.maxHead() ||
		string(buf[:len(m.head)]) != string(m.head) {
		return false
	}
	p.respProgress = m.state
	return true
}

// transferCodings walks a Transfer-Encoding list (RFC 9112 §6.1); several
// fields form one list, in order. What matters is whether the final coding
// is chunked, and that chunked appears at most once.
func (p *ResponseParser) transferCodings(v []byte) {
	p.teSeen = true
	for len(v) > 0 {
		elem := v
		v = nil
		for k, c := range elem {
			if c == ',' {
				elem, v = elem[:k], elem[k+1:]
				break
			}
		}
		elem = trimOWS(elem)
		if len(elem) == 0 {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		name := elem
		for k, c := range elem {
			if c == ';' {
				name = trimOWS(elem[:k])
				break
			}
		}
		if len(name) == 0 || skipClass(name, 0, cToken) != len(name) {
			p.teBad = true
			continue
		}
		if equalFold(name, "chunked") {
			if p.chunkedSeen || len(name) != len(elem) {
				p.teBad = true // chunked twice, or with parameters
			}
			p.chunked, p.chunkedSeen = true, true
			continue
		}
		p.chunked = false // a coding after chunked: the body runs to the close
	}
}

func (p *ResponseParser) connectionTokens(v []byte) {
	for len(v) > 0 {
		t := v
		v = nil
		for k, c := range t {
			if c == ',' {
				t, v = t[:k], t[k+1:]
				break
			}
		}
		switch t = trimOWS(t); {
		case equalFold(t, "close"):
			p.connClose = true
		case equalFold(t, "keep-alive"):
			p.connKeepAlive = true
		}
	}
}

// endHead decides how the body is framed (RFC 9112 §6.3).
func (p *ResponseParser) endHead(method Method) *ResponseError {
	s := p.status
	switch {
	case s < 200:
		p.noBody, p.tunnel = true, s == 101
	case method == CONNECT && s < 300:
		p.noBody, p.tunnel = true, true
	case method == HEAD || s == 204 || s == 304:
		p.noBody = true
	}
	if p.noBody {
		p.state = rsDone
		return nil
	}
	if p.teSeen {
		if p.minor == 0 || p.clSeen || p.teBad {
			return errRespTransferEncoding
		}
		if p.chunked {
			p.state, p.rpos, p.wpos = rsChunkSize, p.headEnd, p.headEnd
			return nil
		}
		p.untilClose, p.state = true, rsUntilClose
		return nil
	}
	switch {
	case !p.clSeen:
		p.untilClose, p.state = true, rsUntilClose
	case p.contentLength > 0:
		p.state = rsBody
	default:
		p.state = rsDone
	}
	return nil
}

// --- body ---------------------------------------------------------------------

func (p *ResponseParser) body(b []byte) *ResponseError {
	for {
		switch p.state {
		case rsBody:
			if int64(len(b)-p.headEnd) < p.contentLength {
				return errRespNeedMore
			}
			p.state = rsDone
		case rsUntilClose:
			return errRespNeedMore
		case rsChunkSize:
			if err := p.chunkSize(b); err != nil {
				return err
			}
		case rsChunkData:
			m := int64(len(b) - p.rpos)
			if m == 0 {
				return errRespNeedMore
			}
			m = min(m, p.chunkLeft)
			if p.DecodeChunked && p.wpos != p.rpos {
				copy(b[p.wpos:], b[p.rpos:p.rpos+int(m)])
			}
			p.wpos += int(m)
			p.rpos += int(m)
			p.chunkLeft -= m
			if p.chunkLeft > 0 {
				return errRespNeedMore
			}
			p.state = rsChunkEnd
		case rsChunkEnd:
			if err := respLineEnd(b, p.rpos, errRespChunk); err != nil {
				return err
			}
			p.rpos += 2
			p.state = rsChunkSize
		case rsTrailers:
			return p.trailers(b)
		default:
			return nil
		}
	}
}

// chunkSize parses chunk-size [chunk-ext] CRLF at rpos (RFC 9112 §7.1).
// Extensions are checked for stray control bytes and skipped: a client has
// no use for them.
func (p *ResponseParser) chunkSize(b []byte) *ResponseError {
	i := p.rpos
	j := i
	var size int64
	for j < len(b) && class[b[j]]&cHex != 0 {
		if size > math.MaxInt64>>4 {
			return errRespChunk
		}
		size = size<<4 | unhex(b[j])
		j++
	}
	if j == len(b) {
		return p.needChunkLine(b, i)
	}
	if j == i {
		return errRespChunk
	}
	k := j
	for k < len(b) && (b[k] == ' ' || b[k] == '\t') {
		k++
	}
	if k < len(b) && b[k] != '\r' && b[k] != '\n' {
		if b[k] != ';' {
			return errRespChunk
		}
		k = scanValue(b, k)
	} else if k != j && k < len(b) {
		return errRespChunk // whitespace, then no extension
	}
	if k-i > respMaxChunkLine {
		return errRespChunk
	}
	if err := respLineEnd(b, k, errRespChunk); err != nil {
		if err == errRespNeedMore {
			return p.needChunkLine(b, i)
		}
		return err
	}
	p.rpos = k + 2
	if size == 0 {
		p.state, p.trailerStart = rsTrailers, p.rpos
		return nil
	}
	p.chunkLeft, p.state = size, rsChunkData
	return nil
}

func (p *ResponseParser) needChunkLine(b []byte, lineStart int) *ResponseError {
	if len(b)-lineStart > respMaxChunkLine {
		return errRespChunk
	}
	return errRespNeedMore
}

// trailers checks the trailer section's lines and skips them.
func (p *ResponseParser) trailers(b []byte) *ResponseError {
	for {
		i := p.rpos
		var err *ResponseError
		switch {
		case i >= len(b):
			err = errRespNeedMore
		case b[i] == '\r' || b[i] == '\n':
			if err = respLineEnd(b, i, errRespLineEnding); err == nil {
				p.rpos = i + 2
				p.state = rsDone
				return nil
			}
		case b[i] == ' ' || b[i] == '\t':
			return errRespObsFold
		default:
			var next int
			if next, _, _, _, err = respFieldLine(b, i); err == nil {
				p.rpos = next // trailers never frame the message: only checked
			}
		}
		if err == errRespNeedMore {
			if len(b)-p.trailerStart > p.maxHead() {
				return errRespHeadTooLarge
			}
			return err
		}
		if err != nil {
			return err
		}
		if p.rpos-p.trailerStart > p.maxHead() {
			return errRespHeadTooLarge
		}
	}
}

// finish fills Response for a response that occupies b[:n] (n is the raw
// end of a chunked body, or the end of a close-delimited one).
func (p *ResponseParser) finish(b []byte, n int) int {
	r := &p.resp
	r.Status = p.status
	r.Major, r.Minor = p.major, p.minor
	r.ContentLength = -1
	if p.clSeen {
		r.ContentLength = p.contentLength
	}
	r.Chunked = p.chunked && !p.noBody
	r.Close = p.connClose || p.minor == 0 && !p.connKeepAlive || p.untilClose || p.tunnel
	r.HeadLen = p.headEnd
	h := p.headEnd
	switch {
	case p.noBody:
		n = h
		r.Body, r.BodyLen = b[h:h:h], 0
	case p.untilClose:
		r.Body, r.BodyLen = b[h:n:n], int64(n-h)
	case p.chunked:
		n = p.rpos
		r.Body, r.BodyLen = nil, int64(p.wpos-h)
		if p.DecodeChunked {
			r.Body = b[h:p.wpos:p.wpos]
		}
	default:
		n = h + int(p.contentLength)
		r.Body, r.BodyLen = b[h:n:n], p.contentLength
	}
	p.state = rsDone
	return n
}
