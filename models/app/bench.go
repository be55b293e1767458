package app

import (
	"math"
	"strconv"
	"unicode/utf8"

	"iolab/models/http1"
)

const (
	textPlain = "text/plain"
	appJSON   = "application/json"
	octets    = "application/octet-stream"
)

// benchApp routes the TechEmpower and HttpArena workloads. It answers exactly
// as TechEmpower's verifier expects: Server, Date, Content-Type and
// Content-Length on every response.
type benchApp struct{}

var _ BodyStreamer = benchApp{}

// StreamBody takes uploads in pieces: HttpArena's upload profile sends
// bodies up to 20 MiB, which must not sit in memory whole.
func (benchApp) StreamBody(r *http1.Request) bool {
	return r.MethodID == http1.POST && string(r.Path) == "/upload"
}

// BodyPiece has nothing to do with a piece: the upload's answer is its
// length, which the parser counts (r.BodySize).
func (benchApp) BodyPiece(*http1.Request, []byte) {}

func (benchApp) Serve(w *http1.ResponseWriter, r *http1.Request) {
	switch string(r.Path) {
	case "/plaintext":
		if allow(w, r, getHead, "GET, HEAD") {
			w.WriteString(200, textPlain, "Hello, World!")
		}
	case "/json":
		if allow(w, r, getHead, "GET, HEAD") {
			// Serialised per request, as TechEmpower requires, into the
			// writer's scratch buffer: no allocation.
			w.Scratch = appendMessage(w.Scratch[:0], message{Message: "Hello, World!"})
			w.Write(200, appJSON, w.Scratch)
		}
	case "/baseline":
		if allow(w, r, getHead|1<<http1.POST, "GET, HEAD, POST") {
			baseline(w, r)
		}
	case "/echo":
		if allow(w, r, 1<<http1.POST|1<<http1.PUT, "POST, PUT") {
			writeEcho(w, r)
		}
	case "/upload":
		if allow(w, r, 1<<http1.POST|1<<http1.PUT, "POST, PUT") {
			w.Scratch = strconv.AppendInt(w.Scratch[:0], r.BodySize, 10)
			w.Write(200, textPlain, w.Scratch)
		}
	default:
		w.WriteString(404, textPlain, "Not Found\n")
	}
}

// methods is a set of http1.Method, one bit each.
type methods uint32

const getHead = methods(1<<http1.GET | 1<<http1.HEAD)

// allow answers 405 (with Allow, as RFC 9110 §15.5.6 requires) unless the
// request's method is in set, and answers OPTIONS with the list. It reports
// whether the handler should go on. list names set's methods.
func allow(w *http1.ResponseWriter, r *http1.Request, set methods, list string) bool {
	if set&(1<<r.MethodID) != 0 && r.MethodID != http1.Other {
		return true
	}
	w.Header("Allow", list+", OPTIONS")
	if r.MethodID == http1.OPTIONS {
		w.Write(204, "", nil)
	} else {
		w.WriteString(405, textPlain, "Method Not Allowed\n")
	}
	return false
}

// baseline answers HttpArena's baseline profile: the sum of the integer query
// values, plus the integer in the body of a POST.
func baseline(w *http1.ResponseWriter, r *http1.Request) {
	var sum int64
	for q := r.Query; len(q) > 0; {
		var pair []byte
		pair, q = cut(q, '&')
		if len(pair) == 0 {
			continue
		}
		_, v := cut(pair, '=')
		n, ok := parseInt(v)
		if !ok || !addOK(sum, n) {
			w.WriteString(400, textPlain, "query values must be integers\n")
			return
		}
		sum += n
	}
	if len(r.Body) > 0 {
		n, ok := parseInt(trimSpace(r.Body))
		if !ok || !addOK(sum, n) {
			w.WriteString(400, textPlain, "body must be an integer\n")
			return
		}
		sum += n
	}
	w.Scratch = strconv.AppendInt(w.Scratch[:0], sum, 10)
	w.Write(200, textPlain, w.Scratch)
}

// echo answers every method and path with 200 and the request body.
func echo(w *http1.ResponseWriter, r *http1.Request) {
	if r.MethodID == http1.OPTIONS {
		w.Header("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
	}
	writeEcho(w, r)
}

// writeEcho answers with the request body, labelled with the type the client
// gave it.
func writeEcho(w *http1.ResponseWriter, r *http1.Request) {
	if ct := r.Header("content-type"); ct != nil {
		w.HeaderBytes("Content-Type", ct)
		w.Write(200, "", r.Body)
		return
	}
	if len(r.Body) > 0 {
		w.Write(200, octets, r.Body)
		return
	}
	w.Write(200, textPlain, nil)
}

// message is TechEmpower's JSON test object.
type message struct {
	Message string
}

// appendMessage serialises m as {"message":"..."}.
func appendMessage(b []byte, m message) []byte {
	b = append(b, `{"message":`...)
	b = appendJSONString(b, m.Message)
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json does
// with HTML escaping off: quotes, backslashes, control characters, U+2028,
// U+2029, and invalid UTF-8 (as U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func cut(b []byte, sep byte) (before, after []byte) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// parseInt parses an optionally signed decimal integer without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > math.MaxInt64+1 {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true // n == MaxInt64+1 wraps to MinInt64, as it should
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// addOK reports whether a+b does not overflow.
func addOK(a, b int64) bool {
	return !(b > 0 && a > math.MaxInt64-b || b < 0 && a < math.MinInt64-b)
}
