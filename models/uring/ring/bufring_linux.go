package ring

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BufRing is a provided buffer ring (IORING_REGISTER_PBUF_RING): a ring of
// buffer descriptors the process fills and the kernel consumes, choosing a
// buffer only when data arrives. Its memory and the buffers it names are
// mapped with mmap.
type BufRing struct {
	mem     []byte
	entries []Buf
	mask    uint16
	tail    uint16 // the next entry to fill; published by Advance
	bgid    uint16
	flags   uint16
}

// SetupBufRing registers a provided buffer ring of entries entries (a power
// of two, at most 32768) as group bgid, as io_uring_setup_buf_ring(3). flags
// may ask for incremental consumption (PbufRingInc).
func (r *Ring) SetupBufRing(entries int, bgid uint16, flags uint16) (*BufRing, error) {
	if entries <= 0 || entries > 1<<15 || entries&(entries-1) != 0 {
		return nil, os.NewSyscallError("io_uring_setup_buf_ring", unix.EINVAL)
	}
	size := entries * int(unsafe.Sizeof(Buf{}))
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap buffer ring", err)
	}
	reg := bufReg{RingAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), RingEntries: uint32(entries), Bgid: bgid, Flags: flags}
	if err := r.register(registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	return &BufRing{
		mem:     mem,
		entries: unsafe.Slice((*Buf)(unsafe.Pointer(&mem[0])), entries),
		mask:    uint16(entries - 1),
		bgid:    bgid,
		flags:   flags,
	}, nil
}

// FreeBufRing unregisters and unmaps b, as io_uring_free_buf_ring(3).
func (r *Ring) FreeBufRing(b *BufRing) error {
	reg := bufReg{Bgid: b.bgid}
	err := r.register(unregisterPbufRing, unsafe.Pointer(&reg), 1)
	unix.Munmap(b.mem)
	b.mem, b.entries = nil, nil
	return err
}

// Group is the buffer group id.
func (b *BufRing) Group() uint16 { return b.bgid }

// Add fills the entry offset places after the tail with buffer p (n bytes)
// as buffer id bid, without publishing it, as io_uring_buf_ring_add(3).
// Publish any number of added entries at once with Advance.
func (b *BufRing) Add(p unsafe.Pointer, n uint32, bid uint16, offset int) {
	e := &b.entries[(b.tail+uint16(offset))&b.mask]
	e.Addr = uint64(uintptr(p))
	e.Len = n
	e.Bid = bid
}

// Advance publishes count added entries, as io_uring_buf_ring_advance(3).
//
// The tail is a 16-bit field at byte 14 of the ring, overlapping the
// reserved half of the first entry; Go has no 16-bit atomic store, so this
// stores the 32-bit word at bytes 12-15 with release semantics, the first
// entry's buffer id (which only this goroutine writes) in its low half.
func (b *BufRing) Advance(count int) {
	b.tail += uint16(count)
	word := (*uint32)(unsafe.Pointer(&b.mem[12]))
	atomic.StoreUint32(word, uint32(b.entries[0].Bid)|uint32(b.tail)<<16)
}

// Mmap maps n bytes of anonymous memory for buffers the kernel will fill:
// outside the Go heap, page-aligned, zeroed. Free it with Munmap.
func Mmap(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

// Munmap frees memory from Mmap.
func Munmap(b []byte) error { return unix.Munmap(b) }
