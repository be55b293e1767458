package ring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Probe lists the operations a kernel supports (IORING_REGISTER_PROBE).
type Probe struct {
	LastOp uint8
	ops    [256]bool
}

// GetProbe asks the kernel which opcodes it supports, as
// io_uring_get_probe_ring(3).
func (r *Ring) GetProbe() (*Probe, error) {
	const n = 256
	buf := make([]byte, int(unsafe.Sizeof(probeHeader{}))+n*int(unsafe.Sizeof(probeOp{})))
	if err := r.register(registerProbe, unsafe.Pointer(&buf[0]), n); err != nil {
		return nil, err
	}
	h := (*probeHeader)(unsafe.Pointer(&buf[0]))
	ops := unsafe.Slice((*probeOp)(unsafe.Pointer(&buf[unsafe.Sizeof(probeHeader{})])), h.OpsLen)
	p := &Probe{LastOp: h.LastOp}
	for _, o := range ops {
		if o.Flags&opSupported != 0 {
			p.ops[o.Op] = true
		}
	}
	runtime.KeepAlive(buf)
	return p, nil
}

// Supported reports whether op is supported (io_uring_opcode_supported(3)).
func (p *Probe) Supported(op uint8) bool { return p.ops[op] }

// SetupTrial is one combination of setup flags and whether the kernel took it.
type SetupTrial struct {
	Flags uint32
	Name  string
	Err   error // nil: accepted
}

// TrySetupFlags asks the kernel, one small ring each, which combinations of
// setup flags it accepts: tried, not guessed from the kernel version.
func TrySetupFlags() []SetupTrial {
	combos := []uint32{
		0,
		SetupSQPoll,
		SetupSQPoll | SetupSQAff,
		SetupSQPoll | SetupSingleIssuer,
		SetupSQPoll | SetupDeferTaskrun | SetupSingleIssuer,
		SetupSQPoll | SetupCoopTaskrun,
		SetupCQSize,
		SetupSubmitAll,
		SetupCoopTaskrun,
		SetupCoopTaskrun | SetupTaskrunFlag,
		SetupSingleIssuer,
		SetupDeferTaskrun,
		SetupSingleIssuer | SetupDeferTaskrun,
		SetupNoSQArray,
	}
	// SINGLE_ISSUER ties a ring to the thread that made it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	trials := make([]SetupTrial, 0, len(combos))
	for _, f := range combos {
		p := Params{Flags: f, SQThreadIdle: 10, CQEntries: 64}
		r, err := Setup(8, &p)
		if err == nil {
			r.Close()
		}
		trials = append(trials, SetupTrial{Flags: f, Name: FlagNames(f), Err: err})
	}
	return trials
}

// FlagNames writes setup flags as "SQPOLL|SQ_AFF" ("none" for 0).
func FlagNames(f uint32) string {
	if f == 0 {
		return "none"
	}
	var names []string
	for bit := uint32(1); bit != 0 && bit <= f; bit <<= 1 {
		if f&bit != 0 {
			if n, ok := SetupFlagNames[bit]; ok {
				names = append(names, n)
			} else {
				names = append(names, fmt.Sprintf("0x%x", bit))
			}
		}
	}
	return strings.Join(names, "|")
}

// Available reports why this process cannot use io_uring, or nil: the
// kernel.io_uring_disabled sysctl, a seccomp filter or an old kernel all
// show up as io_uring_setup failing, and the sysctl's value says which.
func Available() error {
	p := Params{}
	r, err := Setup(2, &p)
	if err == nil {
		r.Close()
		return nil
	}
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return err
	}
	switch errno {
	case unix.ENOSYS:
		return errors.New("io_uring_setup: not implemented by this kernel (too old, or built without io_uring)")
	case unix.EPERM, unix.EACCES:
		if v, rerr := os.ReadFile("/proc/sys/kernel/io_uring_disabled"); rerr == nil {
			switch strings.TrimSpace(string(v)) {
			case "2":
				return errors.New("io_uring_setup: permission denied: io_uring is disabled (sysctl kernel.io_uring_disabled=2)")
			case "1":
				return errors.New("io_uring_setup: permission denied: io_uring is limited to a group this process is not in (sysctl kernel.io_uring_disabled=1, see kernel.io_uring_group)")
			}
		}
		return errors.New("io_uring_setup: permission denied (a seccomp filter or security policy forbids io_uring)")
	}
	return err
}
