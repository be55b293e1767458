// Package peer holds what the reference peers share. A peer is a model
// that is not one of iolab's cores: a widely used Go HTTP server, with its
// own parser, buffers and scheduling, running the same workloads (each
// application's net/http form, or the peer's own). Peers register like
// cores, so `iolab serve --model fasthttp` works, the conformance suite
// runs them (with their differences from iolab's strict parser marked, each
// with its reason), and experiments put them beside the cores as reference
// rows (peer: true): what a reader would otherwise have picked.
//
// A peer keeps the common knobs it can map onto its server (timeouts,
// request limits, max_conns) and refuses handler=offload, which is the
// cores' own mechanism. Its counters are what it can see from outside its
// server: connections accepted, rejected and closed, and requests.
package peer

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"iolab/models"
)

// Validate refuses what a peer cannot do.
func Validate(k models.Values) error {
	if k.Choice("handler") != "inline" {
		return errors.New("knob handler=offload belongs to iolab's cores: a peer runs handlers its own way; leave handler=inline")
	}
	return nil
}

// Listener accepts for a peer's server, counts connections, and closes the
// ones beyond max_conns at once, as the cores do. It does not wrap the
// connections, so a server's own fast paths (sendfile from a *net.TCPConn)
// stay.
type Listener struct {
	net.Listener
	max int64

	open                       atomic.Int64
	accepted, closed, rejected atomic.Uint64
	requests                   atomic.Uint64
	mu                         sync.Mutex
	conns                      map[net.Conn]bool // open ones, for ConnClosed to count once
}

// NewListener wraps ln; max 0 means no limit.
func NewListener(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: int64(max), conns: map[net.Conn]bool{}}
}

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.accepted.Add(1)
		if l.max > 0 && l.open.Load() >= l.max {
			l.rejected.Add(1)
			l.closed.Add(1)
			c.Close()
			continue
		}
		l.open.Add(1)
		l.mu.Lock()
		l.conns[c] = true
		l.mu.Unlock()
		return c, nil
	}
}

// ConnClosed counts a connection the server has closed (its ConnState
// hook calls it), once.
func (l *Listener) ConnClosed(c net.Conn) {
	l.mu.Lock()
	open := l.conns[c]
	delete(l.conns, c)
	l.mu.Unlock()
	if open {
		l.open.Add(-1)
		l.closed.Add(1)
	}
}

// Request counts a request.
func (l *Listener) Request() { l.requests.Add(1) }

// Stats are the counters so far.
func (l *Listener) Stats() models.Stats {
	var st models.Stats
	st.Counters[models.Accepted] = l.accepted.Load()
	st.Counters[models.Closed] = l.closed.Load()
	st.Counters[models.Rejected] = l.rejected.Load()
	st.Counters[models.Requests] = l.requests.Load()
	return st
}
