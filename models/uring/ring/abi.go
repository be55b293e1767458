package ring

// The kernel's io_uring ABI (include/uapi/linux/io_uring.h). golang.org/x/sys
// has only the three syscall numbers; the structures and constants are here,
// and abi_test.go checks their sizes and offsets against the C layout.

// Params mirrors struct io_uring_params: what io_uring_setup(2) is asked for
// and what it answers (120 bytes).
type Params struct {
	SQEntries    uint32
	CQEntries    uint32
	Flags        uint32
	SQThreadCPU  uint32
	SQThreadIdle uint32 // milliseconds
	Features     uint32
	WQFd         uint32
	resv         [3]uint32
	SQOff        SQRingOffsets
	CQOff        CQRingOffsets
}

// SQRingOffsets mirrors struct io_sqring_offsets.
type SQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, resv1 uint32
	UserAddr                                                        uint64
}

// CQRingOffsets mirrors struct io_cqring_offsets.
type CQRingOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, resv1 uint32
	UserAddr                                                        uint64
}

// SQE mirrors struct io_uring_sqe (64 bytes). Several C unions share a field
// here; the field is named after its most common member, and the Prep
// functions say which member they set.
type SQE struct {
	Opcode      uint8
	Flags       uint8  // IOSQE_*
	IoPrio      uint16 // also recv/send/accept flags (IORING_RECV_MULTISHOT, ...)
	Fd          int32
	Off         uint64 // also addr2
	Addr        uint64
	Len         uint32
	OpFlags     uint32 // rw_flags, msg_flags, accept_flags, timeout_flags, cancel_flags, msg_ring_flags, ...
	UserData    uint64
	BufIndex    uint16 // also buf_group
	Personality uint16
	FileIndex   uint32 // also splice_fd_in
	Addr3       uint64
	_           uint64
}

// CQE mirrors struct io_uring_cqe (16 bytes).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// BufferID returns the provided buffer a CQE used (valid with CQEFBuffer).
func (c *CQE) BufferID() uint16 { return uint16(c.Flags >> CQEBufferShift) }

// Opcodes (enum io_uring_op).
const (
	OpNop           = 0
	OpTimeout       = 11
	OpTimeoutRemove = 12
	OpAccept        = 13
	OpAsyncCancel   = 14
	OpClose         = 19
	OpFilesUpdate   = 20
	OpRead          = 22
	OpWrite         = 23
	OpSend          = 26
	OpRecv          = 27
	OpSplice        = 30
	OpShutdown      = 34
	OpMsgRing       = 40
	OpSendZC        = 47
	OpReadMultishot = 49
)

// OpNames names every opcode up to the last this ABI knows, for the probe.
var OpNames = [...]string{
	"nop", "readv", "writev", "fsync", "read_fixed", "write_fixed", "poll_add", "poll_remove",
	"sync_file_range", "sendmsg", "recvmsg", "timeout", "timeout_remove", "accept", "async_cancel",
	"link_timeout", "connect", "fallocate", "openat", "close", "files_update", "statx", "read", "write",
	"fadvise", "madvise", "send", "recv", "openat2", "epoll_ctl", "splice", "provide_buffers",
	"remove_buffers", "tee", "shutdown", "renameat", "unlinkat", "mkdirat", "symlinkat", "linkat",
	"msg_ring", "fsetxattr", "setxattr", "fgetxattr", "getxattr", "socket", "uring_cmd", "send_zc",
	"sendmsg_zc", "read_multishot", "waitid", "futex_wait", "futex_wake", "futex_waitv",
	"fixed_fd_install", "ftruncate", "bind", "listen", "recv_zc", "epoll_wait", "readv_fixed",
	"writev_fixed", "pipe",
}

// Setup flags (IORING_SETUP_*).
const (
	SetupIOPoll           = 1 << 0
	SetupSQPoll           = 1 << 1
	SetupSQAff            = 1 << 2
	SetupCQSize           = 1 << 3
	SetupClamp            = 1 << 4
	SetupAttachWQ         = 1 << 5
	SetupRDisabled        = 1 << 6
	SetupSubmitAll        = 1 << 7
	SetupCoopTaskrun      = 1 << 8
	SetupTaskrunFlag      = 1 << 9
	SetupSQE128           = 1 << 10
	SetupCQE32            = 1 << 11
	SetupSingleIssuer     = 1 << 12
	SetupDeferTaskrun     = 1 << 13
	SetupNoMmap           = 1 << 14
	SetupRegisteredFdOnly = 1 << 15
	SetupNoSQArray        = 1 << 16
)

// SetupFlagNames names the setup flags, for the probe.
var SetupFlagNames = map[uint32]string{
	SetupIOPoll: "IOPOLL", SetupSQPoll: "SQPOLL", SetupSQAff: "SQ_AFF", SetupCQSize: "CQSIZE",
	SetupClamp: "CLAMP", SetupAttachWQ: "ATTACH_WQ", SetupRDisabled: "R_DISABLED",
	SetupSubmitAll: "SUBMIT_ALL", SetupCoopTaskrun: "COOP_TASKRUN", SetupTaskrunFlag: "TASKRUN_FLAG",
	SetupSQE128: "SQE128", SetupCQE32: "CQE32", SetupSingleIssuer: "SINGLE_ISSUER",
	SetupDeferTaskrun: "DEFER_TASKRUN", SetupNoMmap: "NO_MMAP", SetupRegisteredFdOnly: "REGISTERED_FD_ONLY",
	SetupNoSQArray: "NO_SQARRAY",
}

// Features (IORING_FEAT_*), as io_uring_setup reports them.
const (
	FeatSingleMmap     = 1 << 0
	FeatNoDrop         = 1 << 1
	FeatSubmitStable   = 1 << 2
	FeatRWCurPos       = 1 << 3
	FeatCurPersonality = 1 << 4
	FeatFastPoll       = 1 << 5
	FeatPoll32Bits     = 1 << 6
	FeatSQPollNonfixed = 1 << 7
	FeatExtArg         = 1 << 8
	FeatNativeWorkers  = 1 << 9
	FeatRsrcTags       = 1 << 10
	FeatCQESkip        = 1 << 11
	FeatLinkedFile     = 1 << 12
	FeatRegRegRing     = 1 << 13
	FeatRecvSendBundle = 1 << 14
	FeatMinTimeout     = 1 << 15
	FeatRWAttr         = 1 << 16
	FeatNoIOWait       = 1 << 17
)

// FeatureNames names the feature bits, in bit order.
var FeatureNames = [...]string{
	"SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS", "CUR_PERSONALITY", "FAST_POLL",
	"POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS", "RSRC_TAGS", "CQE_SKIP",
	"LINKED_FILE", "REG_REG_RING", "RECVSEND_BUNDLE", "MIN_TIMEOUT", "RW_ATTR", "NO_IOWAIT",
}

// io_uring_enter(2) flags.
const (
	EnterGetEvents = 1 << 0
	EnterSQWakeup  = 1 << 1
	EnterSQWait    = 1 << 2
	EnterExtArg    = 1 << 3
	// EnterRegisteredRing: the fd argument is an index into the calling
	// thread's registered ring descriptors (RegisterRingFd), not a descriptor.
	EnterRegisteredRing = 1 << 4
)

// SQ ring flags, set by the kernel.
const (
	SQNeedWakeup = 1 << 0 // the SQPOLL thread sleeps: wake it with EnterSQWakeup
	SQCQOverflow = 1 << 1
	SQTaskrun    = 1 << 2
)

// SQE flags (IOSQE_*).
const (
	SQEFixedFile      = 1 << 0
	SQEIODrain        = 1 << 1
	SQEIOLink         = 1 << 2
	SQEIOHardlink     = 1 << 3
	SQEAsync          = 1 << 4
	SQEBufferSelect   = 1 << 5
	SQECQESkipSuccess = 1 << 6
)

// CQE flags (IORING_CQE_F_*).
const (
	CQEFBuffer       = 1 << 0 // the upper 16 bits hold the buffer id
	CQEFMore         = 1 << 1 // a multishot request will post more CQEs
	CQEFSockNonempty = 1 << 2
	CQEFNotif        = 1 << 3
	CQEFBufMore      = 1 << 4 // incremental buffer: the kernel keeps using this buffer
	CQEBufferShift   = 16
)

// ioprio bits of recv, send and accept SQEs.
const (
	RecvSendPollFirst = 1 << 0
	RecvMultishot     = 1 << 1
	AcceptMultishot   = 1 << 0
)

// Timeout flags (timeout_flags).
const (
	TimeoutAbs          = 1 << 0
	TimeoutEtimeSuccess = 1 << 5
	TimeoutMultishot    = 1 << 6
)

// Cancel flags (cancel_flags).
const (
	CancelAll      = 1 << 0
	CancelFd       = 1 << 1
	CancelAny      = 1 << 2
	CancelUserData = 1 << 4
)

// MSG_RING commands (in sqe->addr) and flags.
const (
	MsgData        = 0
	MsgSendFd      = 1
	MsgRingCQESkip = 1 << 0
)

// io_uring_register(2) opcodes used here.
const (
	registerProbe      = 8
	registerFiles2     = 13
	registerRingFds    = 20
	unregisterRingFds  = 21
	registerPbufRing   = 22
	unregisterPbufRing = 23
)

// rsrcRegister mirrors struct io_uring_rsrc_register, for IORING_REGISTER_FILES2.
type rsrcRegister struct {
	Nr    uint32
	Flags uint32
	resv2 uint64
	Data  uint64
	Tags  uint64
}

// rsrcRegisterSparse (IORING_RSRC_REGISTER_SPARSE): a table of empty slots.
const rsrcRegisterSparse = 1 << 0

// rsrcUpdate mirrors struct io_uring_rsrc_update, for IORING_REGISTER_RING_FDS.
type rsrcUpdate struct {
	Offset uint32
	resv   uint32
	Data   uint64
}

// mmap offsets of the rings.
const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000
)

// Provided buffer rings.

// Buf mirrors struct io_uring_buf, one entry of a provided buffer ring.
type Buf struct {
	Addr uint64
	Len  uint32
	Bid  uint16
	resv uint16 // in entry 0, this is the ring's tail
}

// bufReg mirrors struct io_uring_buf_reg.
type bufReg struct {
	RingAddr    uint64
	RingEntries uint32
	Bgid        uint16
	Flags       uint16
	resv        [3]uint64
}

// Buffer ring registration flags.
const (
	PbufRingMmap = 1 << 0
	PbufRingInc  = 1 << 1 // incremental consumption: a buffer may serve several receives
)

// probeOp mirrors struct io_uring_probe_op.
type probeOp struct {
	Op    uint8
	resv  uint8
	Flags uint16
	resv2 uint32
}

// probeHeader mirrors the head of struct io_uring_probe.
type probeHeader struct {
	LastOp uint8
	OpsLen uint8
	resv   uint16
	resv2  [3]uint32
}

const opSupported = 1 << 0

// getEventsArg mirrors struct io_uring_getevents_arg, for EnterExtArg.
type getEventsArg struct {
	Sigmask     uint64
	SigmaskSz   uint32
	MinWaitUsec uint32
	Ts          uint64
}
