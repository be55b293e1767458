package http1

import "errors"

// ErrNeedMore reports that the buffer ends before the request does. It is not
// a failure: read more, append, and call Parse again.
var ErrNeedMore = errors.New("http1: need more data")

// ErrorKind classifies a rejected request, for counters and tests. Each kind
// maps to one status code.
type ErrorKind uint8

// The kinds of rejection, in the order a request is checked.
const (
	KindRequestLine           ErrorKind = iota // malformed request line: missing parts, extra spaces
	KindMethod                                 // method is not a token
	KindTarget                                 // request-target malformed or with forbidden bytes
	KindVersion                                // HTTP-version malformed
	KindVersionUnsupported                     // HTTP major version other than 1 (505)
	KindLineEnding                             // bare CR or bare LF
	KindHeaderName                             // empty name, non-token byte in a name, missing colon
	KindSpaceBeforeColon                       // whitespace between field name and colon
	KindObsFold                                // a line that begins with whitespace (obs-fold)
	KindHeaderValue                            // control character or NUL in a field value; a repeated singleton field
	KindHost                                   // Host missing (HTTP/1.1), repeated or invalid
	KindContentLength                          // Content-Length not a plain decimal, or too large for int64
	KindContentLengthConflict                  // Content-Length repeated with different values
	KindContentLengthAndTE                     // both Content-Length and Transfer-Encoding
	KindTransferEncoding                       // chunked missing, not final or repeated; TE in HTTP/1.0
	KindTransferCodingUnknown                  // a transfer coding this server does not implement (501)
	KindChunk                                  // invalid chunk size, extension or framing
	KindTrailer                                // a trailer field that must not be a trailer
	KindRequestLineTooLong                     // request line over MaxRequestLine (414)
	KindHeaderTooLarge                         // header section over MaxHeaderBytes or MaxHeaders (431)
	KindBodyTooLarge                           // body over MaxBody (413)
	KindExpectation                            // Expect with something other than 100-continue (417)
	NumErrorKinds
)

// Error is a rejected request: the status to answer with and why. The
// connection must be closed after answering.
type Error struct {
	Kind   ErrorKind
	Status int
	Reason string
	body   []byte // the response body: Reason and a newline
}

func (e *Error) Error() string { return "http1: " + e.Reason }

// Name is the kind's short name, used as a counter label.
func (k ErrorKind) Name() string {
	if k < NumErrorKinds {
		return errorTable[k].name
	}
	return "unknown"
}

// Err returns the error of this kind. Errors are preallocated so that
// rejecting a request allocates nothing.
func (k ErrorKind) Err() *Error { return &errorTable[k].err }

func init() {
	for i := range errorTable {
		e := &errorTable[i].err
		e.body = []byte(e.Reason + "\n")
	}
}

var errorTable = [NumErrorKinds]struct {
	name string
	err  Error
}{
	KindRequestLine:           {"request_line", Error{Kind: KindRequestLine, Status: 400, Reason: "malformed request line"}},
	KindMethod:                {"method", Error{Kind: KindMethod, Status: 400, Reason: "method is not a token"}},
	KindTarget:                {"target", Error{Kind: KindTarget, Status: 400, Reason: "invalid request-target"}},
	KindVersion:               {"version", Error{Kind: KindVersion, Status: 400, Reason: "malformed HTTP version"}},
	KindVersionUnsupported:    {"version_unsupported", Error{Kind: KindVersionUnsupported, Status: 505, Reason: "HTTP version not supported"}},
	KindLineEnding:            {"line_ending", Error{Kind: KindLineEnding, Status: 400, Reason: "bare CR or LF"}},
	KindHeaderName:            {"header_name", Error{Kind: KindHeaderName, Status: 400, Reason: "invalid header field name"}},
	KindSpaceBeforeColon:      {"space_before_colon", Error{Kind: KindSpaceBeforeColon, Status: 400, Reason: "whitespace between field name and colon"}},
	KindObsFold:               {"obs_fold", Error{Kind: KindObsFold, Status: 400, Reason: "line folding (obs-fold) or leading whitespace"}},
	KindHeaderValue:           {"header_value", Error{Kind: KindHeaderValue, Status: 400, Reason: "invalid header field value"}},
	KindHost:                  {"host", Error{Kind: KindHost, Status: 400, Reason: "missing, repeated or invalid Host"}},
	KindContentLength:         {"content_length", Error{Kind: KindContentLength, Status: 400, Reason: "invalid Content-Length"}},
	KindContentLengthConflict: {"content_length_conflict", Error{Kind: KindContentLengthConflict, Status: 400, Reason: "conflicting Content-Length values"}},
	KindContentLengthAndTE:    {"content_length_and_te", Error{Kind: KindContentLengthAndTE, Status: 400, Reason: "both Content-Length and Transfer-Encoding"}},
	KindTransferEncoding:      {"transfer_encoding", Error{Kind: KindTransferEncoding, Status: 400, Reason: "chunked is not the final transfer coding"}},
	KindTransferCodingUnknown: {"transfer_coding_unknown", Error{Kind: KindTransferCodingUnknown, Status: 501, Reason: "transfer coding not implemented"}},
	KindChunk:                 {"chunk", Error{Kind: KindChunk, Status: 400, Reason: "invalid chunked framing"}},
	KindTrailer:               {"trailer", Error{Kind: KindTrailer, Status: 400, Reason: "prohibited trailer field"}},
	KindRequestLineTooLong:    {"request_line_too_long", Error{Kind: KindRequestLineTooLong, Status: 414, Reason: "request line too long"}},
	KindHeaderTooLarge:        {"header_too_large", Error{Kind: KindHeaderTooLarge, Status: 431, Reason: "header section too large"}},
	KindBodyTooLarge:          {"body_too_large", Error{Kind: KindBodyTooLarge, Status: 413, Reason: "body too large"}},
	KindExpectation:           {"expectation", Error{Kind: KindExpectation, Status: 417, Reason: "unsupported expectation"}},
}
