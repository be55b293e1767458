package models

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"iolab/models/app"
	"iolab/models/http1"
)

// Core is a running server core. See the package comment for what every core
// must do.
type Core interface {
	// Addr is the address the core listens on (the port chosen by the
	// kernel when the configured one was 0).
	Addr() net.Addr
	// Stats sums the core's counters now. Safe to call at any time.
	Stats() Stats
	// Stop stops accepting, lets in-flight responses finish and closes
	// every connection. If ctx ends first it closes what is left and
	// returns ctx's error.
	Stop(ctx context.Context) error
	// Done is closed once the core has stopped, by Stop or by a fatal error
	// (then Err says which).
	Done() <-chan struct{}
	// Err is the fatal error that stopped the core, or nil.
	Err() error
}

// Model is a registered kind of core.
type Model struct {
	Name string
	Doc  string
	// Knobs are the model's own tunables; every model also takes
	// CommonKnobs.
	Knobs []Knob
	// IOUring marks a model whose loops do their I/O through io_uring:
	// they count io_uring_enter and the CQEs each reaps, so a run of it
	// reports CQEs per enter (and draws that chart).
	IOUring bool
	// Variants are knob settings the conformance suite runs, each named,
	// so that every way the model can work is tested (both accept modes,
	// both triggers, ...). None means the defaults only.
	Variants []Variant
	// Validate checks what single knobs cannot: combinations (SQPOLL with a
	// taskrun mode the kernel refuses, say). Optional; its error should name
	// the knobs and the way out.
	Validate func(Values) error
	// Available reports why the model cannot run on this machine (io_uring
	// disabled, say), or nil.
	Available func() error
	// Start listens on addr and serves until stopped.
	Start func(addr string, cfg Config) (Core, error)
	// Peer marks a reference peer (models/peer): a widely used server with
	// its own HTTP stack, measured beside the cores, not one of them.
	Peer bool
}

// Variant is a named set of knob settings.
type Variant struct {
	Name  string
	Knobs []string
	// Stress marks the variants the stress tests (models/conformance,
	// IOLAB_STRESS=1) load too: each way of accepting and of polling that
	// a lab would measure, not the deliberately cramped settings (a
	// four-buffer ring, say) that only behaviour tests need. A model with
	// no variant marked is stressed with its defaults.
	Stress bool
}

// AllKnobs returns the model's knobs after the common ones.
func (m Model) AllKnobs() []Knob {
	return append(append([]Knob(nil), CommonKnobs...), m.Knobs...)
}

// Config is what a core is started with. Build it with NewConfig.
type Config struct {
	// App answers requests; AppName names it in logs and records.
	App     app.Handler
	AppName string
	// HTTP is the application's net/http form, and AppOptions what it was
	// built with: for the peers, which run their own HTTP stacks.
	HTTP       http.Handler
	AppOptions app.Options
	// Knobs holds every knob of the model, common ones included.
	Knobs Values
	// The common knobs, read out.
	Limits        http1.Limits
	IdleTimeout   time.Duration
	HeaderTimeout time.Duration
	MaxConns      int // 0: no limit
	// Offload is the worker pool of handler=offload, nil for inline.
	Offload *Pool
	// ZeroCopy is set by a core that sends file segments itself (its
	// zerocopy knob): a Session then leaves them to it (PendingFile).
	ZeroCopy bool
}

// RawWaitAllowed reports whether a core's loops may wait without the Go
// runtime's syscall bookkeeping (the raw_wait knob of epoll and uring). A
// loop in such a wait keeps its P, and nothing else gets that P until the
// wait ends or sysmon takes it, up to 10 ms later. That is harmless where
// each loop has a P of its own and the loops are all there is, and a stall
// where other goroutines of the core carry requests: an acceptor thread
// handing connections over, handlers offloaded to the worker pool
// (measured: p99 of 10 ms beside slow clients with epoll's acceptor,
// against 0.26 ms with reuseport), or loops beyond GOMAXPROCS, which wait
// for the P a waiting loop holds (measured under connection churn, two
// reuseport loops on one CPU: half the requests per second of one loop).
func RawWaitAllowed(cfg *Config, acceptor bool, loops int) bool {
	return !acceptor && cfg.Offload == nil && loops <= runtime.GOMAXPROCS(0)
}

// CommonKnobs are the knobs every model takes: timeouts and request limits,
// enforced the same way by every core.
var CommonKnobs = []Knob{
	{Name: "idle_timeout", Kind: KnobDuration, Default: "60s", Min: int64(time.Millisecond),
		Doc: "close a keep-alive connection idle this long: nothing read and no write progress"},
	{Name: "header_timeout", Kind: KnobDuration, Default: "10s", Min: int64(time.Millisecond),
		Doc: "close a connection whose request head is incomplete this long after its first byte (not counting while back-pressure stops the reading)"},
	{Name: "max_conns", Kind: KnobInt, Default: "0", Min: 0, Max: 10_000_000,
		Doc: "most connections open at once (0: no limit); beyond it new ones are closed at accept"},
	{Name: "max_request_line", Kind: KnobSize, Default: "8KiB", Min: 64, Max: 1 << 20,
		Doc: "longest request line (else 414)"},
	{Name: "max_header_bytes", Kind: KnobSize, Default: "16KiB", Min: 64, Max: 1 << 20,
		Doc: "largest header section (else 431)"},
	{Name: "max_headers", Kind: KnobInt, Default: "100", Min: 1, Max: 10_000,
		Doc: "most header fields (else 431)"},
	{Name: "max_body", Kind: KnobSize, Default: "8MiB", Min: 1, Max: 1 << 30,
		Doc: "largest request body (else 413)"},
	{Name: "handler", Kind: KnobEnum, Default: "inline", Choices: []string{"inline", "offload"},
		Doc: "inline: the app runs on the core's thread (it must not block); offload: on a pool of workers, the response posted back to the loop"},
	{Name: "workers", Kind: KnobInt, Default: "64", Min: 1, Max: 100_000,
		Doc: "handler=offload: most handlers running at once"},
}

// NewConfig validates knob settings ("name=value") for model m and builds
// the Config to start it with.
func NewConfig(m Model, a app.App, settings []string) (Config, error) {
	vs, err := ParseKnobs(m.AllKnobs(), settings)
	if err == nil && m.Validate != nil {
		err = m.Validate(vs)
	}
	if err != nil {
		return Config{}, fmt.Errorf("model %s: %w", m.Name, err)
	}
	if a.Handler == nil {
		return Config{}, fmt.Errorf("app %s has no handler (it needs options: see app.Build)", a.Name)
	}
	var pool *Pool
	if vs.Choice("handler") == "offload" {
		pool = NewPool(vs.Int("workers"))
	}
	return Config{
		App:        a.Handler,
		AppName:    a.Name,
		HTTP:       a.HTTP,
		AppOptions: a.Options,
		Offload:    pool,
		Knobs:      vs,
		Limits: http1.Limits{
			MaxRequestLine: vs.Int("max_request_line"),
			MaxHeaderBytes: vs.Int("max_header_bytes"),
			MaxHeaders:     vs.Int("max_headers"),
			MaxBody:        int64(vs.Int("max_body")),
		},
		IdleTimeout:   vs.Duration("idle_timeout"),
		HeaderTimeout: vs.Duration("header_timeout"),
		MaxConns:      vs.Int("max_conns"),
	}, nil
}

var registry = map[string]Model{}

// Register adds a model. It panics on a duplicate name or a knob default
// its own declaration rejects: both are programming errors any test catches.
func Register(m Model) {
	if _, dup := registry[m.Name]; dup {
		panic("models: duplicate model " + m.Name)
	}
	if _, err := ParseKnobs(m.AllKnobs(), nil); err != nil {
		panic("models: " + m.Name + ": " + err.Error())
	}
	for _, v := range m.Variants {
		vs, err := ParseKnobs(m.AllKnobs(), v.Knobs)
		if err == nil && m.Validate != nil {
			err = m.Validate(vs)
		}
		if err != nil {
			panic("models: " + m.Name + " variant " + v.Name + ": " + err.Error())
		}
	}
	registry[m.Name] = m
}

// Names lists the registered models, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the model called name, or an error listing the known ones.
func Lookup(name string) (Model, error) {
	m, ok := registry[name]
	if !ok {
		return Model{}, fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return m, nil
}

// Start looks up a model, validates the knob settings and starts a core
// serving a on addr: what `iolab serve` and the tests do.
func Start(model string, a app.App, addr string, settings []string) (Core, error) {
	m, err := Lookup(model)
	if err != nil {
		return nil, err
	}
	if m.Available != nil {
		if err := m.Available(); err != nil {
			return nil, fmt.Errorf("model %s is unavailable here: %w", m.Name, err)
		}
	}
	cfg, err := NewConfig(m, a, settings)
	if err != nil {
		return nil, err
	}
	return m.Start(addr, cfg)
}

// Ending is how a core ends, for the cores that end from any of several
// goroutines (a Serve that fails, a Stop): once, with the error it ended on
// (nil after a Stop). Its zero value is ready; the core's Done and Err
// return its own.
type Ending struct {
	mu    sync.Mutex
	done  chan struct{}
	ended bool
	err   error
}

func (e *Ending) ch() chan struct{} {
	if e.done == nil {
		e.done = make(chan struct{})
	}
	return e.done
}

// Done is closed once the core has ended.
func (e *Ending) Done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ch()
}

// Err is what the core ended on: nil while it runs, and after a Stop.
func (e *Ending) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Finish ends the core with err, unless it has ended already.
func (e *Ending) Finish(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ended {
		e.ended, e.err = true, err
		close(e.ch())
	}
}
