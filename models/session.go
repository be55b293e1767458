package models

import (
	"iolab/models/app"
	"iolab/models/http1"
)

// Session is the HTTP/1.1 side of one connection, the same for every core:
// bytes read go in, bytes to write come out. It does no I/O, so a core is
// only the code that moves bytes between the kernel and a Session.
//
// Besides answering on the core's thread, a Session streams large bodies
// to applications that take them in pieces (app.BodyStreamer), runs the
// application off the core's thread when the core is configured with
// handler=offload (see Resumer), and leaves file segments for a core with
// zerocopy=on to send itself (PendingFile).
type Session struct {
	parser   http1.Parser
	w        http1.ResponseWriter
	app      app.Handler
	streamer app.BodyStreamer // app, when it takes bodies in pieces
	reader   bool             // app reads bodies as they arrive, when offloaded
	c        *Counters
	done     bool // the connection closes after the output already produced
	draining bool // the core is stopping: the next response closes

	pool    *Pool // handler=offload; nil runs the application inline
	resumer Resumer
	token   uint64

	job       *job              // the request running off the core's thread, or nil
	streaming bool              // the body of the request in progress comes in pieces
	bodyErr   bool              // a body streamed to the job broke a limit: close after its response
	holding   bool              // the last Serve asks the core to stop reading until a Resume
	outLeft   bool              // the job has output that did not fit: Serve again once the output drains
	file      http1.FileSegment // for the core to send after the output, before anything else
	connect   bool              // a CONNECT parsed behind a batch waits for it
}

// holdBytes is how much unparsed input a connection with a request in
// flight may gather before the core stops reading it; takeLimit is how much
// output may wait to be written before an offloaded handler's next piece is
// left waiting (and the handler with it).
const (
	holdBytes = 16 << 10
	takeLimit = 256 << 10
)

// Init prepares s for a new connection of a core configured by cfg,
// counting into c. A Session may be reused: Init keeps its memory.
func (s *Session) Init(cfg *Config, c *Counters) {
	s.Abort()
	s.parser.Init(cfg.Limits)
	s.app, s.c = cfg.App, c
	s.streamer, _ = cfg.App.(app.BodyStreamer)
	br, ok := cfg.App.(app.BodyReader)
	s.reader = ok && br.ReadsBodyStream()
	s.pool = cfg.Offload
	s.w.SetFiles(cfg.ZeroCopy)
	s.done, s.draining = false, false
	s.resumer, s.token = nil, 0
	s.bodyErr, s.holding, s.outLeft, s.connect = false, false, false, false
}

// Bind names the connection for offload: a worker that has something for
// it calls r.Resume(token). A core that never binds runs the application
// inline whatever handler says.
func (s *Session) Bind(r Resumer, token uint64) { s.resumer, s.token = r, token }

// Serve answers every complete request at the start of in, in order,
// appending the responses to out. It returns how many bytes of in it used
// (the caller keeps the rest for the next call, at the start of its buffer),
// the extended out, and whether the connection must close once out is
// written. After a request that closes the connection, the rest of in is
// discarded: nothing after it is ever answered.
//
// It stops early, keeping the rest of in for later, while a request is in
// flight off the core's thread (call it again after a Resume) and after a
// response that left a file for the core to send (PendingFile).
//
// Serve may rewrite bytes of in that belong to an incomplete chunked request
// (the parser decodes in place); the caller must keep them as they are.
func (s *Session) Serve(in, out []byte) (used int, _ []byte, closing bool) {
	s.holding = false
	if s.file.Size > 0 {
		s.holding = len(in) >= holdBytes
		return 0, out, false // the core sends the file first
	}
	for !s.done {
		switch {
		case s.job != nil:
			var finished, full bool
			used, out, finished, full = s.tend(in, used, out)
			if !finished {
				// Stop reading with enough waiting behind the request, or
				// while its body cannot go anywhere: a Resume comes when
				// the handler has read some.
				s.holding = len(in)-used >= holdBytes || full
				return used, out, false
			}
		case s.streaming:
			n, complete, err := s.pieces(in[used:])
			used += n
			if err != nil {
				return len(in), s.reject(out, err), true
			}
			if !complete {
				return used, out, false
			}
			s.streaming = false
			if s.offloads() {
				s.dispatch(nil, false)
				continue
			}
			out = s.answer(out)
		default:
			n, err := s.parser.Parse(in[used:])
			if err == http1.ErrNeedMore {
				if s.parser.TakeContinue() {
					out = append(out, http1.Continue...)
					s.c.CountStatus(100)
				}
				if s.parser.BodyPending() {
					if k, ok := s.stream(in[used:]); ok {
						used += k
						continue
					}
				}
				return used, out, false
			}
			if err != nil {
				return len(in), s.reject(out, err), true
			}
			used += n
			if s.offloads() {
				used += s.dispatch(in[used:], false)
				continue
			}
			out = s.answer(out)
		}
		if s.file.Size > 0 {
			return used, out, false
		}
	}
	return len(in), out, true
}

// reject answers a request the parser refused, and closes.
func (s *Session) reject(out []byte, err error) []byte {
	e := err.(*http1.Error)
	s.c[ParseError(e.Kind)]++
	s.c[Requests]++
	s.c.CountStatus(e.Status)
	s.done = true
	return http1.AppendError(out, e)
}

// offloads reports that the request just parsed goes to the pool.
func (s *Session) offloads() bool {
	return s.pool != nil && s.resumer != nil && s.parser.Request().MethodID != http1.CONNECT
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
	if f, ok := s.w.File(); ok {
		s.file = f
	}
	return out
}

// stream decides, when a request's head has arrived without all of its
// body, whether the body comes in pieces: to an offloaded handler that
// reads it as it arrives (the handler starts now), or to an application
// that takes pieces on the core's thread. It returns the bytes of b the
// head used.
func (s *Session) stream(b []byte) (int, bool) {
	toJob := s.pool != nil && s.resumer != nil && s.reader
	if !toJob && s.streamer == nil {
		return 0, false // the body comes whole
	}
	head := s.parser.Head(b)
	switch {
	case head.MethodID == http1.CONNECT:
		return 0, false
	case !toJob && !s.streamer.StreamBody(head):
		return 0, false
	}
	used, first := s.parser.StreamBody(b)
	s.streaming = true
	if toJob {
		s.dispatch(nil, true)
		j := s.job
		j.mu.Lock()
		j.pipe.buf = append(j.pipe.buf, first...)
		j.cond.Broadcast()
		j.mu.Unlock()
	} else if len(first) > 0 {
		s.streamer.BodyPiece(s.parser.Request(), first)
	}
	return used, true
}

// pieces hands the pieces of a streamed body in b to the application. It
// reports the bytes used and whether the body is complete.
func (s *Session) pieces(b []byte) (used int, complete bool, err error) {
	req := s.parser.Request()
	for {
		piece, n, done, err := s.parser.NextBody(b[used:])
		if err != nil {
			return used, false, err
		}
		used += n
		if len(piece) > 0 {
			s.streamer.BodyPiece(req, piece)
		}
		if done || n == 0 {
			return used, done, nil
		}
	}
}

// dispatch hands the request just parsed (or whose head just arrived, with
// stream) to the pool, with a copy of everything the handler may read, and
// with it the complete requests pipelined behind it in rest: one hand-over
// for the batch. It returns the bytes of rest those used.
func (s *Session) dispatch(rest []byte, stream bool) (used int) {
	j := getJob()
	j.reqBuf = s.parser.CloneRequest(j.next(), j.reqBuf)
	if stream {
		j.reqs[0].BodyStream = &j.pipe
	}
	// A batch stops before a request it cannot take whole: one that would
	// stream, CONNECT, or anything after a request that closes the
	// connection; and it is not made where responses may leave files to
	// send (what follows a file must wait for it). A request left half
	// parsed (need more, or rejected) is taken up again by the next Serve,
	// after the batch's responses.
	for last := s.parser.Request(); !stream && !s.w.Files() && j.n < maxBatch && last.KeepAlive && used < len(rest); {
		n, err := s.parser.Parse(rest[used:])
		if err != nil {
			break
		}
		used += n
		if last = s.parser.Request(); last.MethodID == http1.CONNECT {
			s.connect = true // answered on the loop once the batch is done
			break
		}
		j.reqBuf = s.parser.CloneRequest(j.next(), j.reqBuf)
	}
	j.h, j.files, j.resumer, j.token = s.app, s.w.Files(), s.resumer, s.token
	j.closing.Store(s.draining)
	s.job = j
	s.pool.submit(j)
	return used
}

// tend is a Serve with a request in flight: more of its body into its pipe,
// its output so far into out. It reports whether the request is finished
// (its response all in out), and whether its body's pipe is full.
func (s *Session) tend(in []byte, used int, out []byte) (_ int, _ []byte, finished, full bool) {
	j := s.job
	if s.streaming {
		var n int
		n, full = s.feed(in[used:])
		used += n
	}
	out, s.outLeft, finished = j.take(out, takeLimit)
	if !finished {
		return used, out, false, full
	}
	s.c[Requests] += uint64(j.answered)
	for c := Status1xx; c <= Status5xx; c++ {
		s.c[c] += j.statuses[c]
	}
	// A handler that returned before its body ended leaves the rest of the
	// body unread: closing is simpler and safer than reading it to the end.
	if j.closes || s.draining || s.streaming || s.bodyErr {
		s.done = true
	}
	s.file = j.file
	s.job, s.streaming, s.bodyErr = nil, false, false
	putJob(j)
	if s.connect && !s.done {
		s.connect = false
		out = s.answer(out) // the CONNECT that ended the batch, parsed already
	}
	return used, out, true, false
}

// feed moves what b holds of a streamed body into the job's pipe, while it
// has room, and returns the bytes used and whether the pipe is full. A body
// that breaks a limit or its framing fails the handler's reads, and the
// connection closes after the handler's response.
func (s *Session) feed(b []byte) (int, bool) {
	j := s.job
	p := &j.pipe
	used := 0
	j.mu.Lock()
	if p.r > 0 {
		p.buf, p.r = p.buf[:copy(p.buf, p.buf[p.r:])], 0
	}
	for p.room() {
		piece, n, done, err := s.parser.NextBody(b[used:])
		if err != nil {
			e := err.(*http1.Error)
			s.c[ParseError(e.Kind)]++
			p.err = e
			j.closing.Store(true)
			s.streaming, s.bodyErr = false, true
			used = len(b) // nothing more of this connection is read
			break
		}
		used += n
		p.buf = append(p.buf, piece...)
		if done {
			p.eof = true
			s.streaming = false
			break
		}
		if n == 0 {
			break
		}
	}
	full := s.streaming && !p.room()
	if full {
		p.wantRoom = true
	}
	j.cond.Broadcast()
	j.mu.Unlock()
	return used, full
}

// Drain makes the next response close the connection: the core is stopping.
func (s *Session) Drain() {
	s.draining = true
	if s.job != nil {
		s.job.closing.Store(true)
	}
}

// Abort lets go of the request in flight, if any: the connection has
// closed. The handler's body reads and flushes fail from now on.
func (s *Session) Abort() {
	if s.job != nil {
		s.job.abort()
		s.job = nil
	}
	s.streaming, s.file = false, http1.FileSegment{}
}

// Closed reports that the connection must close once its output is written.
func (s *Session) Closed() bool { return s.done }

// InHead reports whether a request in progress has not completed its head;
// with bytes pending, that is the window header_timeout bounds.
func (s *Session) InHead() bool { return s.parser.InHead() }

// Need is the buffer length the request in progress needs before it can
// complete, when known (a Content-Length body), else 0.
func (s *Session) Need() int { return s.parser.Need() }

// InFlight reports a request running off the core's thread: a graceful
// stop lets it finish.
func (s *Session) InFlight() bool { return s.job != nil }

// Working reports a request running off the core's thread whose body has
// all arrived: the connection owes a response and expects nothing, so it is
// not idle, and its timeouts wait.
func (s *Session) Working() bool { return s.job != nil && !s.streaming }

// Holding reports that the last Serve wants the core to stop reading this
// connection until the next Resume (or, behind a pending file, until the
// file is sent): a request is in flight and enough input waits behind it.
func (s *Session) Holding() bool { return s.holding }

// AfterOutput reports that the Session has more for the core once the
// output Serve returned is written: a file to send (PendingFile), or output
// of the request in flight that did not fit behind it, for which no Resume
// will come: call Serve again.
func (s *Session) AfterOutput() bool { return s.outLeft || s.file.Size > 0 }

// PendingFile returns the file segment the core must send after the output
// Serve returned and before anything else (zerocopy=on), if any.
func (s *Session) PendingFile() (http1.FileSegment, bool) { return s.file, s.file.Size > 0 }

// FileSent tells the Session the pending file has been sent: Serve goes on.
func (s *Session) FileSent() { s.file = http1.FileSegment{} }

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
