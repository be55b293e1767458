package models

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"iolab/models/app"
	"iolab/models/http1"
)

// Offload (the common knob handler=offload) runs the application off the
// core's thread, on a bounded pool of worker goroutines, so that a handler
// that blocks (a sleep, a database call) does not stall the other
// connections of its loop. The Session does the HTTP side of it; a core
// adds one hook:
//
//   - it binds each connection's Session to a Resumer (Session.Bind), with
//     a token that names the connection. A worker calls Resume(token) when
//     the Session has something for the core: output of the request in
//     flight (a flushed piece, or the whole response), or room for more of
//     a body it streams to the handler. Resume must not block; an event
//     loop uses an Inbox, which queues the token and wakes the loop;
//   - on the connection's own thread, for each token it takes, the core
//     calls Serve again with the input it kept (nothing new need have
//     arrived) and writes what comes out, as after a read.
//
// The requests a connection has complete when one is handed over go
// together, as one batch run in order by one worker (a hand-over each way
// per batch, not per request); while a batch is in flight the connection
// answers nothing after it, so pipelined responses keep their order. The
// core keeps reading until the Session says Holding (then it stops until
// the next Resume), so a client that pipelines cannot make it buffer
// without bound. A connection whose
// handler is Working is not idle: its timeouts wait. Drain lets a request
// in flight finish (InFlight); a core that closes a connection calls
// Session.Abort, which fails the handler's body reads and flushes.

// Resumer is how a worker tells a core that a connection's Session has
// something for it: call Serve again on that connection, on its own thread.
// Resume is called from any goroutine and must not block.
type Resumer interface {
	Resume(token uint64)
}

// Inbox is the Resumer of an event loop: Resume queues the token and wakes
// the loop (wake, from Init) when the queue was empty; the loop takes the
// tokens when it wakes. A token can be stale (its connection closed and
// its slot reused): the core checks it, as it checks an event's.
type Inbox struct {
	mu     sync.Mutex
	tokens []uint64
	taken  []uint64
	wake   func()
	closed bool
}

// Init sets the function that wakes the loop (an eventfd write, say). It
// is called with the Inbox's lock held, so that after Close returns it is
// never called again and the loop may close what it writes to.
func (b *Inbox) Init(wake func()) { b.wake = wake }

// Resume implements Resumer.
func (b *Inbox) Resume(token uint64) {
	b.mu.Lock()
	if !b.closed {
		b.tokens = append(b.tokens, token)
		if len(b.tokens) == 1 {
			b.wake()
		}
	}
	b.mu.Unlock()
}

// Take returns the tokens queued since the last Take; the slice is valid
// until the next call.
func (b *Inbox) Take() []uint64 {
	b.mu.Lock()
	b.tokens, b.taken = b.taken[:0], b.tokens
	b.mu.Unlock()
	return b.taken
}

// Close drops every later Resume: the loop has exited.
func (b *Inbox) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// Pool runs offloaded handlers, at most n at once. Its goroutines start as
// work arrives and exit when none is queued, so an idle pool costs nothing
// and needs no stopping. The queue needs no bound of its own: a connection
// has at most one request in flight, so it holds at most one job per open
// connection, and max_conns bounds those.
type Pool struct {
	mu    sync.Mutex
	queue []*job
	head  int
	slots chan struct{} // a token per running goroutine
}

// NewPool returns a pool of at most n goroutines.
func NewPool(n int) *Pool { return &Pool{slots: make(chan struct{}, max(n, 1))} }

func (p *Pool) submit(j *job) {
	p.mu.Lock()
	p.queue = append(p.queue, j)
	p.mu.Unlock()
	select {
	case p.slots <- struct{}{}:
		go p.work()
	default: // n goroutines are running; one of them takes it
	}
}

// work runs jobs until the queue is empty. It gives its slot back with the
// lock held, after seeing the queue empty: a submit either came before
// (and is seen) or finds the slot free and starts a goroutine.
func (p *Pool) work() {
	for {
		p.mu.Lock()
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
			<-p.slots
			p.mu.Unlock()
			return
		}
		j := p.queue[p.head]
		p.queue[p.head] = nil
		p.head++
		p.mu.Unlock()
		j.run()
	}
}

// job is one offload: the requests a connection had complete when the
// first of them was handed over (pipelined requests go together, so a
// batch costs one hand-over each way, not one per request), or a single
// request whose body streams to its handler. The loop fills it and the
// worker runs the requests in order; afterwards they share only what mu
// guards. Jobs are pooled: both sides copy what they need before a Resume,
// after which the loop may recycle it.
type job struct {
	h       app.Handler
	reqs    []http1.Request
	n       int    // requests in reqs
	reqBuf  []byte // what they point into
	files   bool
	resumer Resumer
	token   uint64
	closing atomic.Bool // the response must close the connection: the core is stopping, or the body broke a limit

	w    http1.ResponseWriter // the worker's
	wbuf []byte

	mu       sync.Mutex
	cond     sync.Cond // output taken, body bytes added or read, aborted
	ready    []byte    // output for the loop to take
	done     bool      // the handlers returned; ready holds the end of their responses
	answered int       // requests answered: all, or up to one whose response closes the connection
	statuses Counters  // the responses' statuses, counted (Status1xx..Status5xx)
	closes   bool      // the last response said it closes the connection
	file     http1.FileSegment
	aborted  bool // the connection closed: flushes and body reads fail
	pipe     pipe
}

// maxBatch bounds the pipelined requests one job takes.
const maxBatch = 64

// next returns the job's next request slot, reusing its memory.
func (j *job) next() *http1.Request {
	if j.n == len(j.reqs) {
		j.reqs = append(j.reqs, http1.Request{})
	}
	j.n++
	return &j.reqs[j.n-1]
}

var jobs = sync.Pool{New: func() any {
	j := new(job)
	j.cond.L = &j.mu
	j.pipe.j = j
	return j
}}

func getJob() *job { return jobs.Get().(*job) }

func putJob(j *job) {
	j.h, j.resumer = nil, nil
	for i := range j.reqs[:j.n] {
		j.reqs[i].BodyStream = nil
	}
	j.n, j.reqBuf = 0, j.reqBuf[:0]
	j.ready = j.ready[:0]
	j.done, j.aborted, j.answered, j.closes, j.file = false, false, 0, false, http1.FileSegment{}
	j.statuses = Counters{}
	j.closing.Store(false)
	j.pipe.reset()
	jobs.Put(j)
}

// run is the worker's side: the handlers in order, then the responses
// handed over. It stops after a response that closes the connection
// (nothing after it is answered) or leaves a file to send (what follows
// must go after the file; batches are not made then, see dispatch).
func (j *job) run() {
	w := &j.w
	out := j.wbuf[:0]
	var file http1.FileSegment
	var statuses Counters
	answered, closes := 0, false
	for i := range j.reqs[:j.n] {
		req := &j.reqs[i]
		w.Begin(out, req, !req.KeepAlive)
		w.SetCarrier(j)
		w.SetFiles(j.files)
		j.h.Serve(w, req)
		var status int
		out, status = w.End()
		if status == 0 {
			w.Begin(out, req, true)
			w.WriteString(500, "text/plain; charset=utf-8", "handler wrote no response\n")
			out, status = w.End()
		}
		statuses.CountStatus(status)
		answered++
		file, _ = w.File()
		if closes = w.Closing(); closes || file.Size > 0 {
			break
		}
	}
	j.mu.Lock()
	for len(j.ready) > 0 && !j.aborted {
		j.cond.Wait()
	}
	if j.aborted {
		j.mu.Unlock()
		j.wbuf = out[:0]
		putJob(j) // the loop has let go of it
		return
	}
	j.ready, j.wbuf = out, j.ready[:0]
	j.done, j.answered, j.statuses, j.closes, j.file = true, answered, statuses, closes, file
	r, token := j.resumer, j.token
	j.mu.Unlock()
	r.Resume(token)
}

// MustClose implements http1.Carrier.
func (j *job) MustClose() bool { return j.closing.Load() }

// Flush implements http1.Carrier: the output so far goes to the loop, once
// it has taken the last piece, so a handler cannot run ahead of a slow
// client by more than one piece.
func (j *job) Flush(out []byte) []byte {
	j.mu.Lock()
	for len(j.ready) > 0 && !j.aborted {
		j.cond.Wait()
	}
	if j.aborted {
		j.mu.Unlock()
		return out[:0] // nobody to send it to
	}
	j.ready, out = out, j.ready[:0]
	r, token := j.resumer, j.token
	j.mu.Unlock()
	r.Resume(token)
	return out
}

// take moves the job's ready output to out, unless out already holds limit
// bytes (then the handler waits: back-pressure). It reports whether output
// was left, and whether the job is finished with nothing left to take.
func (j *job) take(out []byte, limit int) (_ []byte, left, finished bool) {
	j.mu.Lock()
	if len(j.ready) > 0 {
		if len(out) < limit {
			out = append(out, j.ready...)
			j.ready = j.ready[:0]
			j.cond.Broadcast()
		} else {
			left = true
		}
	}
	finished = j.done && len(j.ready) == 0
	j.mu.Unlock()
	return out, left, finished
}

func (j *job) abort() {
	j.mu.Lock()
	j.aborted = true
	j.cond.Broadcast()
	j.mu.Unlock()
}

// pipeSize is how much of a streamed body waits for the handler to read it
// (plus at most one piece): the rest waits in the core's buffer, and then in
// the socket. The loop is resumed for more only once the handler has read
// half of it, so that a handler reading in small pieces does not cost a
// hand-over each.
const pipeSize = 256 << 10

// pipe carries a streamed body from the loop to the handler (as
// Request.BodyStream). It is guarded by its job's mu.
type pipe struct {
	j        *job
	buf      []byte
	r        int
	eof      bool
	err      error
	wantRoom bool // the loop left body bytes behind: Resume when there is room
}

func (p *pipe) reset() { p.buf, p.r, p.eof, p.err, p.wantRoom = p.buf[:0], 0, false, nil, false }

// room reports whether the pipe takes more (caller holds the lock).
func (p *pipe) room() bool { return len(p.buf)-p.r < pipeSize }

// Read implements io.Reader for the handler.
func (p *pipe) Read(b []byte) (int, error) {
	j := p.j
	j.mu.Lock()
	for len(p.buf) == p.r && !p.eof && p.err == nil && !j.aborted {
		j.cond.Wait()
	}
	var err error
	switch {
	case len(p.buf) > p.r:
	case p.err != nil:
		err = p.err
	case j.aborted:
		err = errAborted
	default:
		err = io.EOF
	}
	n := copy(b, p.buf[p.r:])
	p.r += n
	if p.r == len(p.buf) {
		p.buf, p.r = p.buf[:0], 0
	}
	var resume Resumer
	var token uint64
	if p.wantRoom && len(p.buf)-p.r <= pipeSize/2 {
		p.wantRoom = false
		resume, token = j.resumer, j.token
	}
	j.mu.Unlock()
	if resume != nil {
		resume.Resume(token)
	}
	return n, err
}

// errAborted is what a handler reads from the body of a request whose
// connection has closed.
var errAborted = errors.New("models: the connection closed before the body was read")
