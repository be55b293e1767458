package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// run is what the workers share: the plan, the addresses, the phase
// (published by the coordinator through atomics) and the timeline.
type run struct {
	p            *plan
	dst          sockaddr
	srcs         []sockaddr
	workers      []*worker
	expectStatus int
	expectBody   []byte
	expectBodies []string

	// winStart and winEnd are written before t0 is stored, and read by a
	// worker only after it has loaded a non-zero t0.
	t0       atomic.Int64 // when the load began (after the connect phase); 0 before
	winStart int64
	winEnd   int64
	stop     atomic.Bool

	connectLeft atomic.Int32 // workers still in their connect phase
	connected   chan struct{}
	exited      sync.WaitGroup

	tl        *timeline
	stallNote string // why the coordinator stopped a run early, if it did

	windowBegun, windowEnded bool // OnWindow's calls, made by the coordinator only
}

// window calls OnWindow for an edge of the measured window, once each, and
// the end only after the beginning.
func (r *run) window(begin bool) {
	f := r.p.cfg.OnWindow
	if f == nil || begin && r.windowBegun || !begin && (!r.windowBegun || r.windowEnded) {
		return
	}
	if begin {
		r.windowBegun = true
	} else {
		r.windowEnded = true
	}
	f(begin)
}

func (r *run) workerConnected() {
	if r.connectLeft.Add(-1) == 0 {
		close(r.connected)
	}
}

func (r *run) wakeAll() {
	for _, w := range r.workers {
		signal(w.efd)
	}
}

// Run runs the load test cfg describes and returns what it measured. When
// ctx ends first, the run stops and Run returns what was measured so far,
// with Result.Interrupted set, and no error. Errors are a bad Config (a
// *ConfigError naming the field), a target that cannot be reached at all, or
// a system that cannot give the run what it needs (descriptors, ports).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	p, err := newPlan(cfg)
	if err != nil {
		return nil, err
	}
	c := p.cfg
	var notes []string
	if c.Threads > runtime.GOMAXPROCS(0) {
		notes = append(notes, fmt.Sprintf("%d threads but GOMAXPROCS is %d: workers share CPUs", c.Threads, runtime.GOMAXPROCS(0)))
	}
	if cfg.Threads > c.Connections {
		notes = append(notes, fmt.Sprintf("threads capped at %d, one per connection", c.Connections))
	}

	ip, err := resolve(ctx, p.target.hostname)
	if err != nil {
		return nil, bad("URL", "cannot resolve %q: %v", p.target.hostname, err)
	}
	r := &run{p: p, dst: newSockaddr(netip.AddrPortFrom(ip, p.target.port)), expectStatus: c.ExpectStatus,
		expectBody: c.ExpectBody, expectBodies: c.ExpectBodies, connected: make(chan struct{})}
	for _, a := range c.SourceAddrs {
		if a.Is4() != ip.Is4() {
			return nil, bad("SourceAddrs", "%v and the target %v are not the same IP version", a, ip)
		}
		sa := newSockaddr(netip.AddrPortFrom(a, 0))
		if err := checkSource(&sa); err != nil {
			return nil, bad("SourceAddrs", "cannot bind %v: %v (is it an address of this host?)", a, err)
		}
		r.srcs = append(r.srcs, sa)
	}
	if err := checkPorts(c.Connections, len(c.SourceAddrs)); err != nil {
		return nil, err
	}
	note, err := raiseOpenFiles(c.Connections, uint64(c.Connections)+uint64(2*c.Threads)+64)
	if err != nil {
		return nil, err
	}
	if note != "" {
		notes = append(notes, note)
	}
	// One connection first: a target that is not there is one clear error,
	// not thousands of connect errors.
	addr := netip.AddrPortFrom(ip, p.target.port).String()
	d := net.Dialer{Timeout: c.Timeout}
	probe, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", addr, unwrapOpError(err))
	}
	probe.Close()

	return r.execute(ctx, notes)
}

func (r *run) execute(ctx context.Context, notes []string) (*Result, error) {
	c := r.p.cfg
	n := c.Threads
	slots := make([][]int, n)
	for g := 0; g < c.Connections; g++ {
		slots[g%n] = append(slots[g%n], g)
	}
	r.workers = make([]*worker, n)
	r.tl = newTimeline(n)
	for i := range r.workers {
		w, err := newWorker(r, i, slots[i])
		if err != nil {
			for _, o := range r.workers[:i] {
				o.closeFDs()
				unix.Close(o.efd)
			}
			return nil, err
		}
		r.workers[i] = w
	}
	var issued int64
	for i, w := range r.workers {
		share := float64(len(w.conns)) / float64(c.Connections)
		if c.Rate > 0 {
			w.open = true
			w.interval = 1e9 / (c.Rate * share)
			if c.Count > 0 {
				w.issueLeft = int64(math.Round(float64(c.Count) * share))
				if i == n-1 {
					w.issueLeft = c.Count - issued // the rounding's remainder
				}
				issued += w.issueLeft
			}
		}
	}
	r.connectLeft.Store(int32(n))
	r.exited.Add(n)
	exited := make(chan struct{})
	for _, w := range r.workers {
		go w.loop()
	}
	go func() {
		r.exited.Wait()
		close(exited)
	}()
	defer func() {
		<-exited
		for _, w := range r.workers {
			unix.Close(w.efd)
		}
	}()

	c.logf("opening %d connections to %s with %d threads", c.Connections, r.p.target, n)
	began := nanotime()
	interrupted := false
	select {
	case <-r.connected:
	case <-ctx.Done():
		interrupted = true
	case <-exited:
	}
	t0 := nanotime()
	connectSeconds := float64(t0-began) / 1e9
	r.winStart = t0 + int64(c.Warmup)
	r.winEnd = math.MaxInt64
	if c.Duration > 0 {
		r.winEnd = r.winStart + int64(c.Duration)
	}
	var stopAt int64
	if !interrupted {
		what := fmt.Sprintf("for %v", c.Duration)
		if c.Count > 0 {
			what = fmt.Sprintf("for %d requests", c.Count)
		}
		loop := fmt.Sprintf("closed loop, pipeline %d", c.Pipeline)
		if c.Rate > 0 {
			loop = fmt.Sprintf("open loop at %s req/s, at most %d in flight per connection", trimFloat(c.Rate), c.Pipeline)
		}
		warm := ""
		if c.Warmup > 0 {
			warm = fmt.Sprintf(" after a %v warm-up", c.Warmup)
		}
		c.logf("connected in %v; loading %s%s (%s)", time.Duration(t0-began).Round(time.Millisecond), what, warm, loop)
		r.t0.Store(t0)
		r.wakeAll()
		stopAt, interrupted = r.wait(ctx, exited)
		r.window(false)
	}
	r.stop.Store(true)
	r.wakeAll()
	<-exited
	if stopAt == 0 {
		stopAt = nanotime()
	}
	for _, w := range r.workers {
		if w.err != nil {
			return nil, fmt.Errorf("worker %d: %w", w.id, w.err)
		}
	}
	return r.result(notes, connectSeconds, stopAt, interrupted)
}

// wait waits for the end: the window's (workers stop by themselves), a
// count reached, or ctx. In count mode it also stops a run that makes no
// progress for twice the timeout (every connect failing, say), which would
// otherwise never reach its count. It returns when the run stopped, and
// whether it was interrupted.
func (r *run) wait(ctx context.Context, exited <-chan struct{}) (int64, bool) {
	var tick <-chan time.Time
	if r.p.cfg.Count > 0 {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	// The window's edges, for OnWindow; the workers keep their own time.
	var begin, end <-chan time.Time
	if r.p.cfg.OnWindow != nil {
		t := time.NewTimer(time.Duration(r.winStart - nanotime()))
		defer t.Stop()
		begin = t.C
	}
	var last uint64
	lastChange := nanotime()
	stall := max(2*int64(r.p.cfg.Timeout), int64(2*time.Second))
	for {
		select {
		case <-begin:
			r.window(true)
			if r.winEnd != math.MaxInt64 {
				t := time.NewTimer(time.Duration(r.winEnd - nanotime()))
				defer t.Stop()
				end = t.C
			}
		case <-end:
			r.window(false)
		case <-ctx.Done():
			return min(nanotime(), r.winEnd), true
		case <-exited:
			return 0, false
		case <-tick:
			var sum uint64
			for _, w := range r.workers {
				sum += w.progress.Load()
			}
			now := nanotime()
			if sum != last || now < r.winStart {
				// Progress only counts in the window: the warm-up is not
				// silence.
				last, lastChange = sum, now
			} else if now-lastChange > stall {
				r.stallNote = fmt.Sprintf("stopped: no request answered, lost or expired for %v before the count was reached",
					time.Duration(now-lastChange).Round(time.Millisecond))
				return now, false
			}
		}
	}
}

// result gathers the workers' counters, histograms and CPU times.
func (r *run) result(notes []string, connectSeconds float64, stopAt int64, interrupted bool) (*Result, error) {
	c := r.p.cfg
	res := &Result{Target: c.URL, Loop: ClosedLoop, Connections: c.Connections, Threads: c.Threads,
		Pipeline: c.Pipeline, ConnectSeconds: connectSeconds, WarmupSeconds: c.Warmup.Seconds(),
		Interrupted: interrupted, Hosts: 1, Config: r.p.settings()}
	if c.Rate > 0 {
		res.Loop, res.Rate = OpenLoop, c.Rate
	}
	h := newHist()
	var ct counters
	var cpu [2]time.Duration
	allFinished := true
	var lastDone int64
	for _, w := range r.workers {
		h.Merge(w.total)
		w.ct.addTo(&ct)
		cpu[0] += w.cpu[0]
		cpu[1] += w.cpu[1]
		allFinished = allFinished && w.finished
		lastDone = max(lastDone, w.lastDone)
	}
	end := min(stopAt, r.winEnd)
	if c.Count > 0 && allFinished && lastDone > 0 {
		end = lastDone // the window closes with the last response
	}
	if end > r.winStart && r.t0.Load() != 0 {
		res.Seconds = float64(end-r.winStart) / 1e9
	} else if interrupted {
		notes = append(notes, "interrupted before the measured window began: nothing was recorded")
	}
	if r.stallNote != "" {
		notes = append(notes, r.stallNote)
	}
	res.Notes = notes
	res.Requests, res.Received = ct.received, ct.received
	res.Bytes, res.BytesWritten = ct.bytesRead, ct.bytesWritten
	res.Sent, res.Lost, res.InFlight = ct.sent, ct.lost, ct.inFlight
	res.Truncated = ct.truncated
	res.Issued, res.Expired, res.Waiting = ct.issued, ct.expired, ct.waiting
	res.Reconnects, res.ChurnCloses = ct.reconnects, ct.churned
	res.Status = StatusCounts{ct.status[0], ct.status[1], ct.status[2], ct.status[3], ct.status[4]}
	e := ct.errs
	res.Errors = Errors{Connect: e[errConnect], Read: e[errRead], Write: e[errWrite], Timeout: e[errTimeout],
		Parse: e[errParse], Status: e[errStatus], Body: e[errBody]}
	res.CPU.UserSeconds, res.CPU.SystemSeconds = cpu[0].Seconds(), cpu[1].Seconds()
	res.Syscalls = Syscalls{EpollWait: ct.sysWait, Read: ct.sysRead, Write: ct.sysWrite, Connect: ct.sysConnect, Close: ct.sysClose}
	res.Timeline = r.tl.finish(int(math.Ceil(res.Seconds)))
	if err := res.summarise(h); err != nil {
		return nil, err
	}
	res.setUtilization(res.Seconds * float64(c.Threads))
	return res, nil
}

func (c Config) logf(format string, a ...any) {
	if c.Log != nil {
		c.Log(fmt.Sprintf(format, a...))
	}
}

func (a *counters) addTo(b *counters) {
	b.sent += a.sent
	b.received += a.received
	b.lost += a.lost
	b.truncated += a.truncated
	b.issued += a.issued
	b.expired += a.expired
	b.bytesRead += a.bytesRead
	b.bytesWritten += a.bytesWritten
	b.reconnects += a.reconnects
	b.churned += a.churned
	b.inFlight += a.inFlight
	b.waiting += a.waiting
	b.sysWait += a.sysWait
	b.sysRead += a.sysRead
	b.sysWrite += a.sysWrite
	b.sysConnect += a.sysConnect
	b.sysClose += a.sysClose
	for i := range a.status {
		b.status[i] += a.status[i]
	}
	for i := range a.errs {
		b.errs[i] += a.errs[i]
	}
}

func (p *plan) settings() Settings {
	c := p.cfg
	const keep = 4 << 10 // a request's head, and enough body to recognise it
	var reqs []string
	for _, r := range p.encoded {
		if len(r) > keep {
			r = fmt.Sprintf("%s... (%d bytes)", r[:keep], len(r))
		}
		reqs = append(reqs, r)
	}
	s := Settings{URL: c.URL, Requests: reqs, TechEmpowerHeaders: c.TechEmpowerHeaders, BodyBytes: len(c.Body),
		Count: c.Count, Timeout: c.Timeout.String(), ExpectStatus: c.ExpectStatus, MaxResponse: c.MaxResponse}
	if c.Duration > 0 {
		s.Duration = c.Duration.String()
	}
	if c.Warmup > 0 {
		s.Warmup = c.Warmup.String()
	}
	s.ExpectBody = string(c.ExpectBody)
	s.ExpectBodies = c.ExpectBodies
	for _, a := range c.SourceAddrs {
		s.SourceAddrs = append(s.SourceAddrs, a.String())
	}
	return s
}

// --- what the system must give ------------------------------------------------------

func resolve(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, unwrapOpError(err)
	}
	for _, a := range addrs { // IPv4 first: what most servers listen on
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, errors.New("no address")
	}
	return addrs[0], nil
}

func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			return se.Err
		}
		return oe.Err
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return errors.New(de.Err)
	}
	return err
}

// checkSource binds a throwaway socket to the address: an address that is
// not local fails here, once, instead of on every connect.
func checkSource(sa *sockaddr) error {
	fd, e := socket(sa.family)
	if e != 0 {
		return e
	}
	defer unix.Close(fd)
	setsockoptInt(fd, unix.SOL_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	if e := bind(fd, sa); e != 0 {
		return e
	}
	return nil
}

// portRange, when not 0, narrows each socket's ephemeral port range
// (IP_LOCAL_PORT_RANGE: low port in the low 16 bits, high in the high), so
// that a test can run out of one source address's ports with a few thousand
// connections instead of 28,000.
var portRange uint32

// checkPorts refuses more connections than the source addresses have
// ephemeral ports toward one destination: past that, connects fail with
// EADDRNOTAVAIL, one by one.
func checkPorts(conns, sources int) error {
	lo, hi := 32768, 60999
	if portRange != 0 {
		lo, hi = int(portRange&0xffff), int(portRange>>16)
	} else if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if l, err1 := strconv.Atoi(f[0]); err1 == nil {
				if h, err2 := strconv.Atoi(f[1]); err2 == nil && h >= l {
					lo, hi = l, h
				}
			}
		}
	}
	per := hi - lo + 1
	if conns <= per*max(sources, 1) {
		return nil
	}
	need := (conns + per - 1) / per
	if sources == 0 {
		return bad("Connections", "%d connections to one target need at least %d source addresses: the ephemeral port range %d-%d gives %d per address; add source addresses (SourceAddrs, --source-addrs 127.0.0.2-127.0.0.%d on loopback)",
			conns, need, lo, hi, per, need+1)
	}
	return bad("SourceAddrs", "%d addresses give %d ports each (ephemeral range %d-%d), too few for %d connections; give at least %d",
		sources, per, lo, hi, conns, need)
}

// raiseOpenFiles makes sure the process may open need descriptors: it
// raises the soft RLIMIT_NOFILE to the hard limit, and when that is not
// enough and the process may (CAP_SYS_RESOURCE), the hard limit too. It
// returns what it changed, for the report.
func raiseOpenFiles(conns int, need uint64) (string, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "", nil // unknown: let the connects say so
	}
	if l.Cur >= need {
		return "", nil
	}
	was := l.Cur
	if l.Max >= need {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err == nil {
			return fmt.Sprintf("open files limit raised from %d to %d", was, l.Cur), nil
		}
	} else {
		want := syscall.Rlimit{Cur: need, Max: need}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			return fmt.Sprintf("open files limit raised from %d (hard %d) to %d", was, l.Max, need), nil
		}
	}
	return "", bad("Connections", "%d connections need %d open files; the limit is %d (hard %d) and cannot be raised: raise it (ulimit -n, or run with CAP_SYS_RESOURCE) or use fewer connections",
		conns, need, was, l.Max)
}
