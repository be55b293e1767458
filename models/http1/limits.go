package http1

// Limits bound what one request may occupy. A zero field takes its default.
// Each limit has its own status, so a client learns which one it crossed.
type Limits struct {
	// MaxRequestLine bounds the request line, CRLF included (414).
	MaxRequestLine int
	// MaxHeaderBytes bounds the header section after the request line,
	// the final empty line included; chunked trailers count against it too (431).
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields (431).
	MaxHeaders int
	// MaxBody bounds the decoded body (413).
	MaxBody int64
}

// Default limits.
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxHeaderBytes = 16 << 10
	DefaultMaxHeaders     = 100
	DefaultMaxBody        = 8 << 20
)

// DefaultLimits returns the limits used where none are configured.
func DefaultLimits() Limits {
	return Limits{
		MaxRequestLine: DefaultMaxRequestLine,
		MaxHeaderBytes: DefaultMaxHeaderBytes,
		MaxHeaders:     DefaultMaxHeaders,
		MaxBody:        DefaultMaxBody,
	}
}

// orDefault fills zero fields with their defaults.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = d.MaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = d.MaxHeaders
	}
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	return l
}

// MaxHead is the most bytes a request head can occupy under these limits:
// leading empty lines, request line and header section. A core that sizes its
// input buffer to this never has to grow it to read a head.
func (l Limits) MaxHead() int {
	l = l.orDefault()
	return maxLeadingEmptyLines*2 + l.MaxRequestLine + l.MaxHeaderBytes
}
