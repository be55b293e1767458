package models

import (
	"iolab/models/app"
	"iolab/models/http1"
)

// Session is the HTTP/1.1 side of one connection, the same for every core:
// bytes read go in, bytes to write come out. It does no I/O, so a core is
// only the code that moves bytes between the kernel and a Session.
type Session struct {
	parser   http1.Parser
	w        http1.ResponseWriter
	app      app.Handler
	c        *Counters
	done     bool // the connection closes after the output already produced
	draining bool // the core is stopping: the next response closes
}

// Init prepares s for a new connection of a core configured by cfg,
// counting into c. A Session may be reused: Init keeps its memory.
func (s *Session) Init(cfg *Config, c *Counters) {
	s.parser.Init(cfg.Limits)
	s.app, s.c = cfg.App, c
	s.done, s.draining = false, false
}

// Serve answers every complete request at the start of in, in order,
// appending the responses to out. It returns how many bytes of in it used
// (the caller keeps the rest for the next call, at the start of its buffer),
// the extended out, and whether the connection must close once out is
// written. After a request that closes the connection, the rest of in is
// discarded: nothing after it is ever answered.
//
// Serve may rewrite bytes of in that belong to an incomplete chunked request
// (the parser decodes in place); the caller must keep them as they are.
func (s *Session) Serve(in, out []byte) (used int, _ []byte, closing bool) {
	for !s.done {
		n, err := s.parser.Parse(in[used:])
		if err == http1.ErrNeedMore {
			if s.parser.TakeContinue() {
				out = append(out, http1.Continue...)
				s.c.CountStatus(100)
			}
			return used, out, false
		}
		if err != nil {
			e := err.(*http1.Error)
			s.c[ParseError(e.Kind)]++
			s.c[Requests]++
			s.c.CountStatus(e.Status)
			s.done = true
			return len(in), http1.AppendError(out, e), true
		}
		used += n
		out = s.answer(out)
	}
	return len(in), out, true
}

// answer runs the handler on the request just parsed.
func (s *Session) answer(out []byte) []byte {
	req := s.parser.Request()
	s.c[Requests]++
	closing := !req.KeepAlive || s.draining
	s.w.Begin(out, req, closing)
	if req.MethodID == http1.CONNECT {
		// A tunnel is not something any handler here can give; and the
		// bytes after CONNECT would be the tunnel's, not requests.
		s.w.SetClose()
		s.w.WriteString(501, "text/plain; charset=utf-8", "CONNECT is not supported\n")
	} else {
		s.app.Serve(&s.w, req)
	}
	out, status := s.w.End()
	if status == 0 {
		s.w.Begin(out, req, closing)
		s.w.WriteString(500, "text/plain; charset=utf-8", "handler wrote no response\n")
		out, status = s.w.End()
	}
	s.c.CountStatus(status)
	if s.w.Closing() {
		s.done = true
	}
	return out
}

// Drain makes the next response close the connection: the core is stopping.
func (s *Session) Drain() { s.draining = true }

// Closed reports that the connection must close once its output is written.
func (s *Session) Closed() bool { return s.done }

// InHead reports whether a request in progress has not completed its head;
// with bytes pending, that is the window header_timeout bounds.
func (s *Session) InHead() bool { return s.parser.InHead() }

// Need is the buffer length the request in progress needs before it can
// complete, when known (a Content-Length body), else 0.
func (s *Session) Need() int { return s.parser.Need() }

// Compact drops the first used bytes of buf, which Serve has answered, and
// moves the rest to the front: what a core keeps for the next read. A
// buffer Serve used nothing of is left as it is, so a large body arriving in
// many small reads is not copied onto itself once per read.
func Compact(buf []byte, used int) []byte {
	if used == 0 {
		return buf
	}
	return buf[:copy(buf, buf[used:])]
}

// ReadRoom returns buf with room to read into: its spare capacity if it has
// some, else a larger copy. It grows to what the request in progress needs
// when the parser knows (a Content-Length body), else it doubles, starting
// at min. Growth is bounded because the parser rejects what exceeds the
// limits.
func (s *Session) ReadRoom(buf []byte, min int) []byte {
	if len(buf) < cap(buf) {
		return buf
	}
	n := max(2*cap(buf), min, s.parser.Need())
	grown := make([]byte, len(buf), n)
	copy(grown, buf)
	return grown
}
