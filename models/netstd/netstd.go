// Package netstd is the baseline core: a goroutine per connection on Go's
// runtime poller (package net), speaking HTTP through the shared
// models.Session. It is what Go already does for you, made as lean as the
// standard library allows, so that the raw-syscall cores are compared with
// the best of it rather than a straw man:
//
//   - no bufio and no net/http: one read buffer, one output buffer, the
//     shared zero-allocation parser, one write per batch of responses;
//   - reads and writes go through syscall.RawConn, so the syscalls are
//     counted exactly and an idle connection holds no buffer: the read
//     callback gives its buffer back to a pool before the goroutine parks,
//     and takes one again only when the socket is readable;
//   - deadlines are re-armed lazily (a timer update costs more than the
//     rest of a pipelined batch) and checked precisely when they fire.
//
// The runtime's own epoll_wait calls happen in its scheduler and are not
// counted here; that hidden work is part of what lesson 7 measures.
package netstd

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"iolab/models"
)

func init() {
	models.Register(models.Model{
		Name: "netstd",
		Doc:  "goroutine per connection on Go's runtime poller (package net): the baseline",
		Knobs: []models.Knob{
			{Name: "read_buffer", Kind: models.KnobSize, Default: "16KiB", Min: 512, Max: 1 << 20,
				Doc: "read buffer of an active connection (pooled; an idle connection holds none)"},
			{Name: "zerocopy", Kind: models.KnobBool, Default: "off",
				Doc: "files (app static) go from the page cache to the socket with sendfile(2), not through the output buffer"},
		},
		Start: Start,
	})
}

// lingerTime bounds how long a closing connection keeps reading (and
// discarding) after its last response, so the client sees that response
// rather than a reset (see conn.close).
const lingerTime = time.Second

// Server is a running netstd core.
type Server struct {
	cfg      models.Config
	ln       *net.TCPListener
	meter    *models.Meter
	readSize int
	bufs     sync.Pool // *buffer with cap readSize

	stopping   atomic.Bool
	forced     chan struct{} // closed when Stop's context ends: nothing waits on a handler any more
	stopOnce   sync.Once
	acceptDone chan struct{}
	mu         sync.Mutex
	conns      map[*conn]struct{}
	open       atomic.Int64
	wg         sync.WaitGroup
	shard      atomic.Uint32

	end models.Ending
}

var _ models.Core = (*Server)(nil)

// Start listens on addr and serves until Stop.
func Start(addr string, cfg models.Config) (models.Core, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		ln:         ln.(*net.TCPListener),
		meter:      models.NewMeter(4 * runtime.GOMAXPROCS(0)),
		readSize:   cfg.Knobs.Int("read_buffer"),
		acceptDone: make(chan struct{}),
		conns:      make(map[*conn]struct{}),
		forced:     make(chan struct{}),
	}
	s.cfg.ZeroCopy = cfg.Knobs.Bool("zerocopy")
	s.bufs.New = func() any { return &buffer{b: make([]byte, 0, s.readSize)} }
	go s.acceptLoop()
	return s, nil
}

// buffer is pooled by pointer, so that putting it back allocates nothing.
type buffer struct{ b []byte }

func (s *Server) getBuf() *buffer { return s.bufs.Get().(*buffer) }

func (s *Server) putBuf(b *buffer) {
	if cap(b.b) == s.readSize { // grown buffers were for one large request
		b.b = b.b[:0]
		s.bufs.Put(b)
	}
}

func (s *Server) Addr() net.Addr                        { return s.ln.Addr() }
func (s *Server) Stats() models.Stats                   { return s.meter.Stats() }
func (s *Server) Done() <-chan struct{}                 { return s.end.Done() }
func (s *Server) Err() error                            { return s.end.Err() }
func (s *Server) finish(err error)                      { s.end.Finish(err) }
func (s *Server) publish(c *models.Counters, shard int) { s.meter.Publish(shard, c) }

func (s *Server) acceptLoop() {
	defer close(s.acceptDone)
	var c models.Counters
	var backoff time.Duration
	for {
		tc, err := s.ln.AcceptTCP()
		if err != nil {
			if s.stopping.Load() {
				return
			}
			if isOutOfResources(err) {
				// Out of descriptors or memory: wait for connections to
				// close instead of spinning on a listener that stays readable.
				c[models.AcceptErrors]++
				s.publish(&c, 0)
				backoff = min(max(2*backoff, 5*time.Millisecond), 500*time.Millisecond)
				time.Sleep(backoff)
				continue
			}
			s.finish(err)
			return
		}
		backoff = 0
		c[models.SysAccept]++
		c[models.Accepted]++
		if m := s.cfg.MaxConns; m > 0 && s.open.Load() >= int64(m) {
			c[models.Rejected]++
			c[models.Closed]++
			tc.Close()
			s.publish(&c, 0)
			continue
		}
		s.open.Add(1)
		cn := s.newConn(tc)
		s.mu.Lock()
		s.conns[cn] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		s.publish(&c, 0)
		go cn.serve()
	}
}

func isOutOfResources(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// Stop implements models.Core.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.stopping.Store(true)
		s.ln.Close()
		<-s.acceptDone
		// Wake every reader: an idle connection closes, a busy one finishes
		// the batch it is writing (see conn.serve).
		s.eachConn(func(c *conn) { c.tc.SetReadDeadline(time.Unix(1, 0)) })
	})
	idle := make(chan struct{})
	go func() { s.wg.Wait(); close(idle) }()
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		close(s.forced)
		s.eachConn(func(c *conn) { c.tc.Close() })
		<-idle
	}
	s.finish(nil)
	return err
}

func (s *Server) eachConn(f func(*conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		f(c)
	}
}
