// Package epoll is the readiness-model core: N event loops on raw syscalls
// (golang.org/x/sys/unix), each a goroutine locked to its OS thread with its
// own epoll instance, connection table, buffers, timers and counters. It uses
// neither Go's runtime poller nor a goroutine per connection, so that what a
// chart shows is epoll itself.
//
// A loop waits in epoll_wait, and for each ready connection reads until the
// socket is drained (edge-triggered) or once (level-triggered), feeds the bytes to the
// connection's models.Session, and writes everything the Session answered in
// one write. Accepting is either each loop on its own SO_REUSEPORT listener
// (the kernel spreads connections), or one acceptor thread that drains
// accept4 and hands each descriptor to the least-loaded loop through an inbox
// woken by an eventfd. Timeouts live in one lazy deadline heap per loop.
//
// Linux only; elsewhere the model is listed but refuses to start.
package epoll

import (
	"iolab/models"
	"time"
)

func init() {
	models.Register(models.Model{
		Name: "epoll",
		Doc:  "event loops on raw epoll syscalls, one per CPU, no runtime poller",
		Knobs: []models.Knob{
			{Name: "loops", Kind: models.KnobInt, Default: "0", Min: 0, Max: 1024,
				Doc: "event loops, each a locked OS thread (0: one per CPU this process may use when it starts)"},
			{Name: "accept", Kind: models.KnobEnum, Default: "reuseport", Choices: []string{"reuseport", "acceptor"},
				Doc: "reuseport: a SO_REUSEPORT listener per loop; acceptor: one thread hands fds to the least-loaded loop"},
			{Name: "trigger", Kind: models.KnobEnum, Default: "edge", Choices: []string{"edge", "level"},
				Doc: "edge: EPOLLET, read until drained (see read_until); level: one read per readiness event"},
			{Name: "read_until", Kind: models.KnobEnum, Default: "short", Choices: []string{"short", "eagain"},
				Doc: "edge-triggered: a read shorter than asked means drained (epoll(7)), or read again until EAGAIN"},
			{Name: "maxevents", Kind: models.KnobInt, Default: "512", Min: 1, Max: 65536,
				Doc: "events one epoll_wait may return (the batch size)"},
			{Name: "raw_wait", Kind: models.KnobDuration, Default: "1ms", Min: 0, Max: int64(time.Second),
				Doc: "an epoll_wait spends up to this long (whole ms) without the Go runtime's syscall bookkeeping before it goes through it (runtime_waits counts those) (0: none; off with accept=acceptor, handler=offload, or more loops than GOMAXPROCS)"},
			{Name: "read_buffer", Kind: models.KnobSize, Default: "16KiB", Min: 512, Max: 1 << 20,
				Doc: "read buffer of an active connection (from the loop's pool; an idle connection holds none)"},
			{Name: "loop_max_conns", Kind: models.KnobInt, Default: "0", Min: 0, Max: 10_000_000,
				Doc: "most connections one loop holds (0: no limit); max_conns bounds the whole server"},
			{Name: "write_high_water", Kind: models.KnobSize, Default: "256KiB", Min: 4096, Max: 1 << 30,
				Doc: "pending output above which a connection is not read until it drains"},
			{Name: "zerocopy", Kind: models.KnobBool, Default: "off",
				Doc: "files (app static) go from the page cache to the socket with sendfile(2), not through the output buffer"},
		},
		Variants: []models.Variant{
			{Name: "reuseport-edge", Knobs: []string{"accept=reuseport", "trigger=edge", "loops=2"}, Stress: true},
			{Name: "reuseport-level", Knobs: []string{"accept=reuseport", "trigger=level", "loops=2"}},
			{Name: "acceptor-edge", Knobs: []string{"accept=acceptor", "trigger=edge", "loops=2", "read_until=eagain"}, Stress: true},
			{Name: "acceptor-level", Knobs: []string{"accept=acceptor", "trigger=level", "loops=2", "maxevents=1"}},
		},
		Available: available,
		Start:     Start,
	})
}
