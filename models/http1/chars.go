package http1

import "encoding/binary"

// Character classes of RFC 9110 §5.6 and RFC 3986, one table so that each
// byte of a request costs one load.
const (
	cToken       = 1 << iota // tchar: a byte of a method, field name or coding name
	cTarget                  // allowed raw in a request-target (pchar, "/", "?", "%")
	cHex                     // HEXDIG
	cHost                    // allowed in a Host value: reg-name, IP-literal brackets, ":" port
	cValue                   // field-vchar, obs-text, SP, HTAB
	cQdText                  // qdtext of a quoted-string (without the backslash)
	cTargetPlain             // cTarget without '%' and '?', which need a closer look
	cRegName                 // a reg-name byte of a Host (RFC 3986): cHost without ':', '[', ']'
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alpha := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
		digit := b >= '0' && b <= '9'
		unreserved := alpha || digit || b == '-' || b == '.' || b == '_' || b == '~'
		subDelim := b == '!' || b == '$' || b == '&' || b == '\'' || b == '(' || b == ')' ||
			b == '*' || b == '+' || b == ',' || b == ';' || b == '='
		var m uint8
		if alpha || digit || b == '!' || b == '#' || b == '$' || b == '%' || b == '&' ||
			b == '\'' || b == '*' || b == '+' || b == '-' || b == '.' || b == '^' ||
			b == '_' || b == '`' || b == '|' || b == '~' {
			m |= cToken
		}
		if unreserved || subDelim || b == ':' || b == '@' || b == '/' || b == '?' || b == '%' {
			m |= cTarget
		}
		if m&cTarget != 0 && b != '%' && b != '?' {
			m |= cTargetPlain
		}
		if unreserved || subDelim || b == '%' {
			m |= cRegName
		}
		if digit || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			m |= cHex
		}
		if unreserved || subDelim || b == '%' || b == ':' || b == '[' || b == ']' {
			m |= cHost
		}
		if b == ' ' || b == '\t' || b >= 0x21 && b != 0x7f {
			m |= cValue
		}
		if b == '\t' || b == ' ' || b == 0x21 || b >= 0x23 && b <= 0x5b || b >= 0x5d && b != 0x7f {
			m |= cQdText
		}
		t[c] = m
	}
	return t
}()

func isToken(b byte) bool { return class[b]&cToken != 0 }

// lower folds an ASCII letter to lower case. Only used on token bytes, where
// every byte whose fold collides with a letter is that letter's other case.
func lower(b byte) byte { return b | 0x20 }

// equalFold reports whether the token b equals the lower-case ASCII s,
// eight bytes at a time. Setting bit 5 of every byte folds letters to lower
// case and leaves digits and '-' alone; every s used here is made of those,
// and no byte of a token or a field value folds onto one of them unless it is
// one of them or its upper-case letter (CTLs, the only candidates, are
// rejected before any comparison).
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	const fold = 0x2020202020202020
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])|fold != stringWord(s[i:]) {
			return false
		}
	}
	for ; i < len(s); i++ {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// stringWord loads the first eight bytes of s, little-endian (one load: the
// compiler combines these).
func stringWord(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func isOWS(b byte) bool { return b == ' ' || b == '\t' }

func unhex(b byte) int64 {
	switch {
	case b >= '0' && b <= '9':
		return int64(b - '0')
	case b >= 'a' && b <= 'f':
		return int64(b-'a') + 10
	default:
		return int64(b-'A') + 10
	}
}
