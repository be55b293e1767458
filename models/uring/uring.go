// Package uring is the completion-model core: reactors on io_uring, through
// iolab's own binding (models/uring/ring). Each reactor is a goroutine
// locked to its OS thread, owning one ring, one provided buffer ring, its
// connections, timers and counters.
//
// Where epoll says "this socket is readable, now read it", io_uring is told
// once "receive whatever arrives on this socket" and says "here is what
// arrived, in this buffer". A reactor therefore:
//
//   - accepts with one multishot accept per listener (its own SO_REUSEPORT
//     listener, or an acceptor ring that hands descriptors to reactors with
//     IORING_OP_MSG_RING);
//   - receives with one multishot recv per connection that picks buffers
//     from the reactor's provided buffer ring, parses straight from that
//     buffer, copies out only the bytes of an incomplete request (completed
//     with no more of the next buffer than its head needs), and gives the
//     buffer back as soon as parsing is done. A ring run dry ends the
//     receive (-ENOBUFS); it is counted and re-armed once buffers return;
//   - sends the responses of one batch of completions with one send SQE per
//     connection, one send in flight at a time, the output of the next batch
//     accumulating meanwhile;
//   - handles at most cqe_batch completions per pass, and waits for half as
//     many as its last pass handled (never for completions the load cannot
//     supply), never longer than wait_usec, so a quiet server still answers
//     promptly.
//
// Each reactor's thread registers its ring's descriptor, and (fixed_files,
// on by default) keeps every connection's socket in the ring's registered
// file table too, in the slot of its descriptor's number: sends name that
// slot, and the kernel looks up no descriptor for them, nor for the enters.
//
// The taskrun knob picks how the kernel runs completion work: none,
// COOP_TASKRUN, or SINGLE_ISSUER with DEFER_TASKRUN (completions are posted
// only when the reactor enters the kernel for them: the fewest interruptions,
// and the default). sqpoll=on adds a kernel thread that polls the submission
// queue, so submitting costs no syscall at all.
//
// Linux only, and only where io_uring is allowed; elsewhere the model is
// listed, says why it cannot run, and refuses to start.
package uring

import (
	"errors"
	"time"

	"iolab/models"
)

func init() {
	models.Register(models.Model{
		Name:    "uring",
		Doc:     "io_uring reactors: multishot accept and recv on provided buffer rings, batched completions",
		IOUring: true,
		Knobs: []models.Knob{
			{Name: "loops", Kind: models.KnobInt, Default: "0", Min: 0, Max: 1024,
				Doc: "reactors, each a locked OS thread with its own ring (0: one per CPU this process may use when it starts)"},
			{Name: "accept", Kind: models.KnobEnum, Default: "reuseport", Choices: []string{"reuseport", "acceptor"},
				Doc: "reuseport: multishot accept on a SO_REUSEPORT listener per reactor; acceptor: one ring hands fds over with MSG_RING"},
			{Name: "buf_entries", Kind: models.KnobInt, Default: "1024", Min: 1, Max: 32768, PowerOfTwo: true,
				Doc: "buffers in each reactor's provided buffer ring"},
			{Name: "buf_size", Kind: models.KnobSize, Default: "4KiB", Min: 64, Max: 1 << 20,
				Doc: "bytes per provided buffer"},
			{Name: "cqe_batch", Kind: models.KnobInt, Default: "64", Min: 1, Max: 4096,
				Doc: "most completions a reactor reaps per pass; it waits for half as many as its last pass reaped (at least one)"},
			{Name: "wait_usec", Kind: models.KnobInt, Default: "50", Min: 0, Max: 1_000_000,
				Doc: "longest wait for a batch of completions, in µs (then what has arrived is handled)"},
			{Name: "raw_wait", Kind: models.KnobDuration, Default: "1ms", Min: 0, Max: int64(time.Second),
				Doc: "a wait for completions spends up to this long without the Go runtime's syscall bookkeeping before it goes through it (runtime_waits counts those) (0: none; off with accept=acceptor, handler=offload, or more loops than GOMAXPROCS)"},
			{Name: "taskrun", Kind: models.KnobEnum, Default: "defer", Choices: []string{"none", "coop", "defer"},
				Doc: "completion task work: none, COOP_TASKRUN, or SINGLE_ISSUER|DEFER_TASKRUN"},
			{Name: "sqpoll", Kind: models.KnobBool, Default: "off",
				Doc: "a kernel thread polls the submission queue (IORING_SETUP_SQPOLL)"},
			{Name: "sq_cpu", Kind: models.KnobInt, Default: "-1", Min: -1, Max: 1023,
				Doc: "CPU of the SQPOLL thread (IORING_SETUP_SQ_AFF); -1: wherever the reactor may run"},
			{Name: "sq_idle_ms", Kind: models.KnobInt, Default: "1000", Min: 0, Max: 60_000,
				Doc: "idle time after which the SQPOLL thread sleeps"},
			{Name: "send_buffer", Kind: models.KnobSize, Default: "16KiB", Min: 512, Max: 1 << 20,
				Doc: "output buffer of an active connection (mmap'd, pooled per reactor)"},
			{Name: "write_high_water", Kind: models.KnobSize, Default: "256KiB", Min: 4096, Max: 1 << 30,
				Doc: "pending output above which a connection's receive is cancelled until it drains"},
			{Name: "loop_max_conns", Kind: models.KnobInt, Default: "0", Min: 0, Max: 10_000_000,
				Doc: "most connections one reactor holds (0: no limit); max_conns bounds the whole server"},
			{Name: "fixed_files", Kind: models.KnobBool, Default: "on",
				Doc: "sends name their socket by a slot in the ring's registered file table (IORING_REGISTER_FILES), sparing the kernel a descriptor lookup per send; the slot is filled and emptied by SQEs that ride with the sends"},
			{Name: "zerocopy", Kind: models.KnobBool, Default: "off",
				Doc: "files (app static) are spliced from the page cache to the socket through a pipe (IORING_OP_SPLICE), not copied through the output buffer"},
		},
		Variants: []models.Variant{
			{Name: "reuseport-defer", Knobs: []string{"accept=reuseport", "taskrun=defer", "loops=2"}, Stress: true},
			{Name: "acceptor-defer", Knobs: []string{"accept=acceptor", "taskrun=defer", "loops=2"}},
			{Name: "reuseport-none", Knobs: []string{"accept=reuseport", "taskrun=none", "loops=2"}},
			{Name: "reuseport-coop-fds", Knobs: []string{"accept=reuseport", "taskrun=coop", "loops=2", "fixed_files=off"}},
			{Name: "sqpoll", Knobs: []string{"sqpoll=on", "taskrun=none", "loops=2", "sq_idle_ms=10"}, Stress: true},
			{Name: "sqpoll-acceptor", Knobs: []string{"sqpoll=on", "taskrun=none", "accept=acceptor", "loops=1"}},
			{Name: "tiny-buffers", Knobs: []string{"buf_entries=4", "buf_size=512", "loops=1"}},
		},
		Validate:  validate,
		Available: available,
		Start:     Start,
	})
}

// validate refuses what the kernel would: SQPOLL takes completions through
// the ring's own thread, which COOP_TASKRUN and DEFER_TASKRUN exclude (EINVAL
// at io_uring_setup).
func validate(k models.Values) error {
	if k.Bool("sqpoll") && k.Choice("taskrun") != "none" {
		return errors.New("knob sqpoll=on needs taskrun=none: the kernel refuses SQPOLL with COOP_TASKRUN or DEFER_TASKRUN")
	}
	if k.Int("sq_cpu") >= 0 && !k.Bool("sqpoll") {
		return errors.New("knob sq_cpu places the SQPOLL thread: set sqpoll=on, or leave sq_cpu=-1")
	}
	return nil
}
