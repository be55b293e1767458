package ring

import "unsafe"

// The Prep functions fill an SQE the way liburing's io_uring_prep_*(3) do.
// GetSQE returns a zeroed SQE, so each sets only what its operation uses.
// Memory an SQE points to must stay valid, and where it is for the kernel to
// write or to read later, outside the Go heap (see the package comment).

// prepRW is io_uring_prep_rw: the fields every operation shares.
func (s *SQE) prepRW(op uint8, fd int, addr uintptr, length uint32, off uint64) {
	s.Opcode = op
	s.Fd = int32(fd)
	s.Off = off
	s.Addr = uint64(addr)
	s.Len = length
}

// SetData64 sets the value the operation's CQEs carry back
// (io_uring_sqe_set_data64(3)).
func (s *SQE) SetData64(v uint64) { s.UserData = v }

// SetFlags sets IOSQE_* flags (io_uring_sqe_set_flags(3)).
func (s *SQE) SetFlags(f uint8) { s.Flags = f }

// SetBufferSelect makes the operation take its buffer from provided buffer
// group bgid when data arrives (IOSQE_BUFFER_SELECT and sqe->buf_group).
func (s *SQE) SetBufferSelect(bgid uint16) {
	s.Flags |= SQEBufferSelect
	s.BufIndex = bgid
}

// PrepNop mirrors io_uring_prep_nop(3): an operation that does nothing but
// complete.
func (s *SQE) PrepNop() { s.prepRW(OpNop, -1, 0, 0, 0) }

// PrepAccept mirrors io_uring_prep_accept(3) without asking for the peer's
// address. flags are accept4(2)'s (SOCK_NONBLOCK, SOCK_CLOEXEC).
func (s *SQE) PrepAccept(fd int, flags uint32) {
	s.prepRW(OpAccept, fd, 0, 0, 0)
	s.OpFlags = flags
}

// PrepMultishotAccept mirrors io_uring_prep_multishot_accept(3): one SQE,
// one CQE per accepted connection, until a CQE comes without CQEFMore.
func (s *SQE) PrepMultishotAccept(fd int, flags uint32) {
	s.PrepAccept(fd, flags)
	s.IoPrio |= AcceptMultishot
}

// PrepRecv mirrors io_uring_prep_recv(3). With buf nil and a buffer group
// selected (SetBufferSelect), the kernel picks the buffer when data arrives.
func (s *SQE) PrepRecv(fd int, buf []byte, flags uint32) {
	var p uintptr
	if len(buf) > 0 {
		p = uintptr(unsafe.Pointer(&buf[0]))
	}
	s.prepRW(OpRecv, fd, p, uint32(len(buf)), 0)
	s.OpFlags = flags
}

// PrepRecvMultishot mirrors io_uring_prep_recv_multishot(3): a receive that
// posts a CQE for every arrival of data, each in a buffer of the selected
// group, until a CQE comes without CQEFMore (the group ran dry, the peer
// closed, an error). It needs SetBufferSelect; without it the CQE carries
// -EINVAL.
func (s *SQE) PrepRecvMultishot(fd int, flags uint32) {
	s.PrepRecv(fd, nil, flags)
	s.IoPrio |= RecvMultishot
}

// PrepSend mirrors io_uring_prep_send(3). The n bytes at p must not move or
// be reused until the send's CQE.
func (s *SQE) PrepSend(fd int, p unsafe.Pointer, n int, flags uint32) {
	s.prepRW(OpSend, fd, uintptr(p), uint32(n), 0)
	s.OpFlags = flags
}

// PrepSplice mirrors io_uring_prep_splice(3): move n bytes from fdIn at
// offIn to fdOut at offOut, one of them a pipe, without a copy through user
// memory (splice(2)). An offset of -1 (all ones) means none: a pipe's, or
// the descriptor's own position.
func (s *SQE) PrepSplice(fdIn int, offIn uint64, fdOut int, offOut uint64, n uint32, flags uint32) {
	s.prepRW(OpSplice, fdOut, 0, n, offOut)
	s.Addr = offIn // splice_off_in
	s.FileIndex = uint32(fdIn)
	s.OpFlags = flags // splice_flags
}

// PrepRead mirrors io_uring_prep_read(3). offset -1 (all ones) means the
// file's current position, which is what a pipe or an eventfd wants.
func (s *SQE) PrepRead(fd int, buf []byte, offset uint64) {
	s.prepRW(OpRead, fd, uintptr(unsafe.Pointer(&buf[0])), uint32(len(buf)), offset)
}

// PrepClose mirrors io_uring_prep_close(3).
func (s *SQE) PrepClose(fd int) { s.prepRW(OpClose, fd, 0, 0, 0) }

// PrepFilesUpdate mirrors io_uring_prep_files_update(3): put the
// descriptors fds in the registered file table from slot offset on (-1
// empties a slot), as io_uring_register_files_update(3) would, but without a
// syscall of its own. The kernel reads fds when it issues the SQE, which
// with SQPOLL may be after Submit returns: they must stay valid until then,
// outside the Go heap. res is the number of slots updated.
func (s *SQE) PrepFilesUpdate(fds []int32, offset int) {
	s.prepRW(OpFilesUpdate, -1, uintptr(unsafe.Pointer(&fds[0])), uint32(len(fds)), uint64(offset))
}

// PrepShutdown mirrors io_uring_prep_shutdown(3); how is SHUT_RD, SHUT_WR
// or SHUT_RDWR.
func (s *SQE) PrepShutdown(fd int, how int) { s.prepRW(OpShutdown, fd, 0, uint32(how), 0) }

// PrepCancel64 mirrors io_uring_prep_cancel64(3): cancel the request whose
// user data is userData (all of them with CancelAll).
func (s *SQE) PrepCancel64(userData uint64, flags uint32) {
	s.prepRW(OpAsyncCancel, -1, 0, 0, 0)
	s.Addr = userData
	s.OpFlags = flags
}

// PrepCancelFd mirrors io_uring_prep_cancel_fd(3): cancel the requests on fd.
func (s *SQE) PrepCancelFd(fd int, flags uint32) {
	s.prepRW(OpAsyncCancel, fd, 0, 0, 0)
	s.OpFlags = flags | CancelFd
}

// Timespec mirrors struct __kernel_timespec.
type Timespec struct {
	Sec, Nsec int64
}

// PrepTimeout mirrors io_uring_prep_timeout(3): complete after ts, or after
// count other completions if count > 0. The kernel reads ts when it prepares
// the SQE, which with SQPOLL may be after Submit returns: ts must stay valid
// until then.
func (s *SQE) PrepTimeout(ts *Timespec, count uint32, flags uint32) {
	s.prepRW(OpTimeout, -1, uintptr(unsafe.Pointer(ts)), 1, uint64(count))
	s.OpFlags = flags
}

// PrepMsgRing mirrors io_uring_prep_msg_ring(3): post a CQE with res and
// userData to the ring whose descriptor is fd. The sending ring gets a CQE
// of its own too (res 0 on success); MsgRingCQESkip in flags posts nothing to
// the target.
func (s *SQE) PrepMsgRing(fd int, res uint32, userData uint64, flags uint32) {
	s.prepRW(OpMsgRing, fd, MsgData, res, userData)
	s.OpFlags = flags
}
