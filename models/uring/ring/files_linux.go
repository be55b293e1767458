package ring

import "unsafe"

// Registered files and the registered ring descriptor: two ways to spare the
// kernel a descriptor lookup.
//
// An SQE names its file by descriptor, and the kernel looks it up in the
// process's descriptor table when it issues the request: fget, an atomic
// increment of the file's reference count, and fput, the decrement, when
// the request completes (read(2) in a single-threaded process skips both,
// which no Go program is; a request never does). A registered file
// table is the ring's own: a request with IOSQE_FIXED_FILE names a slot in
// it, and the ring's reference, taken once when the slot was filled,
// serves every request. io_uring_enter(2) itself looks up the ring's
// descriptor the same way on every call, unless the thread registered it
// (IORING_REGISTER_RING_FDS).

// RegisterFilesSparse gives the ring a registered file table of nr empty
// slots, as io_uring_register_files_sparse(3). Fill a slot with an SQE
// (PrepFilesUpdate). The slot takes its own reference to the file: a socket
// whose descriptor is closed stays open until its slot is emptied (or filled
// again), and requests in flight keep the file they started with. The
// kernel refuses more slots than RLIMIT_NOFILE allows (EMFILE).
func (r *Ring) RegisterFilesSparse(nr uint32) error {
	reg := rsrcRegister{Nr: nr, Flags: rsrcRegisterSparse}
	if err := r.register(registerFiles2, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return err
	}
	r.files = nr
	return nil
}

// Files is the size of the registered file table (0: none).
func (r *Ring) Files() uint32 { return r.files }

// RegisterRingFd registers the ring's descriptor for the calling thread, as
// io_uring_register_ring_fd(3), so that its io_uring_enter calls name the
// ring by an index in the thread's table and skip the descriptor lookup.
// The registration belongs to the thread: only a ring entered from one
// locked OS thread (as a reactor's is) may use it, and Close drops it.
func (r *Ring) RegisterRingFd() error {
	up := rsrcUpdate{Offset: ^uint32(0), Data: uint64(r.fd)} // offset -1: any free index
	if err := r.register(registerRingFds, unsafe.Pointer(&up), 1); err != nil {
		return err
	}
	r.enterFd, r.enterFlags = int(up.Offset), EnterRegisteredRing
	return nil
}

// unregisterRingFd undoes RegisterRingFd (io_uring_unregister_ring_fd(3)).
// The registration holds a reference to the ring: without this, a closed
// ring would live on until its thread exits.
func (r *Ring) unregisterRingFd() {
	if r.enterFlags&EnterRegisteredRing == 0 {
		return
	}
	up := rsrcUpdate{Offset: uint32(r.enterFd)}
	r.register(unregisterRingFds, unsafe.Pointer(&up), 1)
	r.enterFd, r.enterFlags = r.fd, 0
}
