package models

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"iolab/models/http1"
)

// Counter names one counter of Counters.
type Counter uint16

// The counters. Connection and request counters are filled by every core;
// syscall counters by the cores that make those calls themselves (netstd's
// epoll_wait, for one, happens inside the Go runtime and is not seen).
const (
	Accepted        Counter                                   = iota // connections accepted
	Closed                                                           // connections closed
	Rejected                                                         // connections closed at accept because max_conns was reached
	AcceptErrors                                                     // accept failures (EMFILE, ENFILE, ...) that caused a back-off
	Requests                                                         // requests answered (rejected ones included)
	BytesIn                                                          // bytes read from clients
	BytesOut                                                         // bytes written to clients
	Status1xx                                                        // responses by status class
	Status2xx                                                        //
	Status3xx                                                        //
	Status4xx                                                        //
	Status5xx                                                        //
	IdleTimeouts                                                     // connections closed by idle_timeout
	HeaderTimeouts                                                   // connections closed by header_timeout
	SysAccept                                                        // syscalls by kind
	SysRead                                                          //
	SysWrite                                                         //
	SysClose                                                         //
	SysShutdown                                                      //
	SysSendfile                                                      //
	SysEpollWait                                                     //
	SysEpollCtl                                                      //
	SysIOUringEnter                                                  //
	RuntimeWaits                                                     // epoll, io_uring: waits longer than raw_wait, made through the Go runtime's syscall bookkeeping (sysmon may take the loop's P meanwhile)
	ReadEAGAIN                                                       // reads that found nothing (EAGAIN)
	WriteEAGAIN                                                      // writes that found the socket buffer full
	PartialWrites                                                    // writes that sent less than asked
	Pauses                                                           // back-pressure: a connection stopped reading until its output, above write_high_water, drained
	EpollEvents                                                      // events epoll_wait returned (per call: events per wait)
	SQEs                                                             // io_uring: SQEs submitted
	CQEs                                                             // io_uring: CQEs reaped
	BufExhausted                                                     // io_uring: receives that found the buffer ring empty (-ENOBUFS)
	Rearms                                                           // io_uring: multishot operations armed again after they ended
	SQPollWakeups                                                    // io_uring: io_uring_enter calls made only to wake the SQPOLL thread
	Splices                                                          // io_uring: splice SQEs (zerocopy=on: file to pipe, pipe to socket)
	Resumes                                                          // handler=offload: connections a worker handed back to their loop
	CQEsPerEnter                                                     // io_uring: first of the buckets of CQEs reaped per io_uring_enter
	parseErrors     = CQEsPerEnter + Counter(len(CQEBuckets))        // first of the parse-error counters, one per http1.ErrorKind

	// NumCounters is the number of counters.
	NumCounters = parseErrors + Counter(http1.NumErrorKinds)
)

// CQEBuckets are the buckets of the histogram of CQEs reaped per
// io_uring_enter: a counter each, powers of two wide.
var CQEBuckets = [...]struct {
	Max  int // inclusive
	Name string
}{{0, "0"}, {1, "1"}, {3, "2_3"}, {7, "4_7"}, {15, "8_15"}, {31, "16_31"}, {63, "32_63"}, {1 << 62, "64_up"}}

// CountCQEs adds one enter that reaped n CQEs to the histogram.
func (c *Counters) CountCQEs(n int) {
	for i, b := range CQEBuckets {
		if n <= b.Max {
			c[CQEsPerEnter+Counter(i)]++
			return
		}
	}
}

// ParseError is the counter of requests rejected for kind k.
func ParseError(k http1.ErrorKind) Counter { return parseErrors + Counter(k) }

var counterNames = func() (n [NumCounters]string) {
	copy(n[:], []string{
		"accepted", "closed", "rejected", "accept_errors", "requests", "bytes_in", "bytes_out",
		"status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx",
		"idle_timeouts", "header_timeouts",
		"sys_accept", "sys_read", "sys_write", "sys_close", "sys_shutdown", "sys_sendfile",
		"sys_epoll_wait", "sys_epoll_ctl", "sys_io_uring_enter", "runtime_waits",
		"read_eagain", "write_eagain", "partial_writes", "backpressure_pauses", "epoll_events",
		"sqes_submitted", "cqes_reaped", "buffer_ring_exhausted", "multishot_rearms", "sqpoll_wakeups",
		"splices", "resumes",
	})
	for i, b := range CQEBuckets {
		n[CQEsPerEnter+Counter(i)] = "cqes_per_enter_" + b.Name
	}
	for k := http1.ErrorKind(0); k < http1.NumErrorKinds; k++ {
		n[ParseError(k)] = "parse_error_" + k.Name()
	}
	return n
}()

// Syscall reports whether c counts system calls (they add up to
// syscalls_per_request).
func (c Counter) Syscall() bool { return c >= SysAccept && c <= SysIOUringEnter }

// Name is the counter's snake_case name, as in JSON.
func (c Counter) Name() string { return counterNames[c] }

// CounterByName finds a counter by its name.
func CounterByName(name string) (Counter, bool) {
	for c := Counter(0); c < NumCounters; c++ {
		if counterNames[c] == name {
			return c, true
		}
	}
	return 0, false
}

// Counters are plain counters owned by one loop or connection: incremented
// without atomics, published to a Meter once per batch.
type Counters [NumCounters]uint64

// CountStatus counts a response by its status class.
func (c *Counters) CountStatus(status int) {
	if status >= 100 && status < 600 {
		c[Status1xx+Counter(status/100-1)]++
	}
}

// Meter gathers the counters that loops publish. It has one shard per loop
// (or per group of connections), each with its own lock, so publishing once
// per batch costs an uncontended lock and a few adds.
type Meter struct {
	shards []meterShard
}

type meterShard struct {
	mu sync.Mutex
	c  Counters
	_  [64]byte // keep neighbouring shards off this cache line
}

// NewMeter returns a Meter with n shards (at least one).
func NewMeter(n int) *Meter { return &Meter{shards: make([]meterShard, max(n, 1))} }

// Shards is the number of shards.
func (m *Meter) Shards() int { return len(m.shards) }

// Publish adds c to shard i and zeroes c.
func (m *Meter) Publish(i int, c *Counters) {
	s := &m.shards[i%len(m.shards)]
	s.mu.Lock()
	for k, v := range c {
		s.c[k] += v
	}
	s.mu.Unlock()
	*c = Counters{}
}

// Stats sums every shard.
func (m *Meter) Stats() Stats {
	var st Stats
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, v := range s.c {
			st.Counters[k] += v
		}
		s.mu.Unlock()
	}
	return st
}

// Stats is a snapshot of a core's counters.
type Stats struct {
	Counters Counters
}

// Get returns one counter.
func (s Stats) Get(c Counter) uint64 { return s.Counters[c] }

// Open is the number of connections open now.
func (s Stats) Open() uint64 { return s.Counters[Accepted] - s.Counters[Closed] }

// MarshalJSON writes every counter by name, plus "open".
func (s Stats) MarshalJSON() ([]byte, error) {
	m := make(map[string]uint64, NumCounters+1)
	for c := Counter(0); c < NumCounters; c++ {
		m[c.Name()] = s.Counters[c]
	}
	m["open"] = s.Open()
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON wrote. Unknown names (from a newer
// iolab) are ignored; "open" is derived.
func (s *Stats) UnmarshalJSON(b []byte) error {
	var m map[string]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = Stats{}
	for name, v := range m {
		if c, ok := CounterByName(name); ok {
			s.Counters[c] = v
		}
	}
	return nil
}

// WriteText writes the non-zero counters, one "name value" per line, with
// derived ratios that lessons use (syscalls per request).
func (s Stats) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-32s %d\n", "open", s.Open())
	var sys uint64
	for c := Counter(0); c < NumCounters; c++ {
		if v := s.Counters[c]; v != 0 {
			fmt.Fprintf(&b, "%-32s %d\n", c.Name(), v)
			if c.Syscall() {
				sys += v
			}
		}
	}
	if r := s.Counters[Requests]; r > 0 && sys > 0 {
		fmt.Fprintf(&b, "%-32s %.3f\n", "syscalls_per_request", float64(sys)/float64(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Report is what `iolab serve --stats-json` writes when it stops: the core,
// its knobs, the window it served, and its counters.
type Report struct {
	Model   string            `json:"model"`
	App     string            `json:"app"`
	Addr    string            `json:"addr"`
	Knobs   map[string]string `json:"knobs"`
	Started time.Time         `json:"started"`
	Stopped time.Time         `json:"stopped"`
	Stats   Stats             `json:"stats"`
	// Seq counts the reports one server wrote (SIGUSR1 asks for one);
	// Final marks the one written when it stopped.
	Seq   int  `json:"seq"`
	Final bool `json:"final"`
}
