//go:build !linux

package ring

import (
	"time"
	"unsafe"
)

// Ring is not available off Linux; every operation fails with ErrUnsupported.
type Ring struct{ Enters, Submitted, Wakeups uint64 }

// BufRing is not available off Linux.
type BufRing struct{}

// Probe is not available off Linux.
type Probe struct{ LastOp uint8 }

// SetupTrial is one combination of setup flags and whether the kernel took it.
type SetupTrial struct {
	Flags uint32
	Name  string
	Err   error
}

func Setup(uint32, *Params) (*Ring, error)                         { return nil, ErrUnsupported }
func Available() error                                             { return ErrUnsupported }
func TrySetupFlags() []SetupTrial                                  { return nil }
func FlagNames(uint32) string                                      { return "" }
func Mmap(int) ([]byte, error)                                     { return nil, ErrUnsupported }
func Munmap([]byte) error                                          { return ErrUnsupported }
func (r *Ring) Close() error                                       { return ErrUnsupported }
func (r *Ring) Fd() int                                            { return -1 }
func (r *Ring) Flags() uint32                                      { return 0 }
func (r *Ring) Features() uint32                                   { return 0 }
func (r *Ring) SQEntries() uint32                                  { return 0 }
func (r *Ring) CQEntries() uint32                                  { return 0 }
func (r *Ring) GetSQE() *SQE                                       { return nil }
func (r *Ring) SQReady() uint32                                    { return 0 }
func (r *Ring) Submit() (int, error)                               { return 0, ErrUnsupported }
func (r *Ring) SubmitAndWait(uint32) (int, error)                  { return 0, ErrUnsupported }
func (r *Ring) CQReady() uint32                                    { return 0 }
func (r *Ring) PeekBatchCQE([]*CQE) int                            { return 0 }
func (r *Ring) CQAdvance(uint32)                                   {}
func (r *Ring) Overflow() uint32                                   { return 0 }
func (r *Ring) GetProbe() (*Probe, error)                          { return nil, ErrUnsupported }
func (r *Ring) SetupBufRing(int, uint16, uint16) (*BufRing, error) { return nil, ErrUnsupported }
func (r *Ring) FreeBufRing(*BufRing) error                         { return ErrUnsupported }
func (b *BufRing) Group() uint16                                   { return 0 }
func (b *BufRing) Add(unsafe.Pointer, uint32, uint16, int)         {}
func (b *BufRing) Advance(int)                                     {}
func (p *Probe) Supported(uint8) bool                              { return false }
func (r *Ring) RegisterFilesSparse(uint32) error                   { return ErrUnsupported }
func (r *Ring) Files() uint32                                      { return 0 }
func (r *Ring) RegisterRingFd() error                              { return ErrUnsupported }

func (r *Ring) SubmitAndWaitTimeout(uint32, time.Duration) (int, error) { return 0, ErrUnsupported }
