// Package ring is a thin io_uring binding on golang.org/x/sys/unix, written
// to be read beside liburing: each function names the liburing function and
// man page it mirrors (io_uring_prep_recv_multishot(3), ...), and does what
// that function does, no more.
//
// # The rings
//
// io_uring_setup(2) returns a descriptor and the layout of three areas the
// process maps (io_uring_queue_init_params(3)): the submission queue ring
// (head, tail, mask, and an array of indexes into the SQE array), the
// completion queue ring (head, tail, mask, and the CQEs), and the SQE array.
// With IORING_FEAT_SINGLE_MMAP the two rings share one mapping.
//
// The process owns the SQ tail and the CQ head; the kernel owns the SQ head
// and the CQ tail. Each side publishes its index with a release store and
// reads the other's with an acquire load; Go's atomic.StoreUint32 and
// LoadUint32 are at least that (on amd64 the store is a full barrier, which
// SQPOLL needs between publishing the tail and reading IORING_SQ_NEED_WAKEUP).
//
// # Memory the kernel touches
//
// Everything the kernel reads or writes on its own time lives in memory
// mapped with mmap, never on the Go heap or a goroutine stack: the rings,
// the provided buffer rings and their buffers, and the descriptors a files
// update reads (PrepFilesUpdate). The garbage collector cannot see a
// pointer stored in an SQE, and stacks move. The SQE array, CQEs and
// buffer-ring entries are Go values laid over that memory with unsafe.Slice.
//
// # Ownership
//
// A Ring is used by one goroutine. With IORING_SETUP_SINGLE_ISSUER that
// goroutine must also stay on one OS thread (runtime.LockOSThread before
// Setup), because the kernel checks the submitting task. So must a ring
// whose descriptor is registered (RegisterRingFd): the registration is the
// thread's.
//
// Linux only; elsewhere Setup returns ErrUnsupported.
package ring

import "errors"

// ErrUnsupported is returned where there is no io_uring.
var ErrUnsupported = errors.New("io_uring is Linux only")
