package ring

import (
	"errors"
	"net"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestABILayout(t *testing.T) {
	sizes := []struct {
		name      string
		got, want uintptr
	}{
		{"io_uring_params", unsafe.Sizeof(Params{}), 120},
		{"io_uring_sqe", unsafe.Sizeof(SQE{}), 64},
		{"io_uring_cqe", unsafe.Sizeof(CQE{}), 16},
		{"io_uring_buf", unsafe.Sizeof(Buf{}), 16},
		{"io_uring_buf_reg", unsafe.Sizeof(bufReg{}), 40},
		{"io_uring_probe_op", unsafe.Sizeof(probeOp{}), 8},
		{"io_uring_probe", unsafe.Sizeof(probeHeader{}), 16},
		{"io_uring_getevents_arg", unsafe.Sizeof(getEventsArg{}), 24},
		{"io_uring_rsrc_register", unsafe.Sizeof(rsrcRegister{}), 32},
		{"io_uring_rsrc_update", unsafe.Sizeof(rsrcUpdate{}), 16},
		{"sqe.user_data", unsafe.Offsetof(SQE{}.UserData), 32},
		{"sqe.buf_index", unsafe.Offsetof(SQE{}.BufIndex), 40},
		{"sqe.file_index", unsafe.Offsetof(SQE{}.FileIndex), 44},
		{"sqe.addr3", unsafe.Offsetof(SQE{}.Addr3), 48},
		{"params.sq_off", unsafe.Offsetof(Params{}.SQOff), 40},
		{"params.cq_off", unsafe.Offsetof(Params{}.CQOff), 80},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("%s: %d, want %d", s.name, s.got, s.want)
		}
	}
}

// newRing sets up a ring for a test, skipping (with the reason) only where
// the kernel refuses io_uring altogether.
func newRing(t *testing.T, entries uint32, p *Params) *Ring {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	if p == nil {
		p = &Params{}
	}
	r, err := Setup(entries, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// wait submits and returns the next n completions, consumed.
func wait(t *testing.T, r *Ring, n int) []CQE {
	t.Helper()
	var out []CQE
	cqes := make([]*CQE, 16)
	deadline := time.Now().Add(5 * time.Second)
	for len(out) < n {
		if _, err := r.SubmitAndWaitTimeout(uint32(n-len(out)), 100*time.Millisecond); err != nil && !errors.Is(err, unix.ETIME) && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		k := r.PeekBatchCQE(cqes)
		for _, c := range cqes[:k] {
			out = append(out, *c)
		}
		r.CQAdvance(uint32(k))
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d completions", len(out), n)
		}
	}
	return out
}

func sqe(t *testing.T, r *Ring) *SQE {
	t.Helper()
	s := r.GetSQE()
	if s == nil {
		t.Fatal("SQ full")
	}
	return s
}

func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func mmap(t *testing.T, n int) []byte {
	t.Helper()
	b, err := Mmap(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Munmap(b) })
	return b
}

func TestNop(t *testing.T) {
	r := newRing(t, 8, nil)
	if r.Features()&FeatSingleMmap == 0 || r.SQEntries() != 8 || r.CQEntries() != 16 {
		t.Logf("features %#x, entries %d/%d", r.Features(), r.SQEntries(), r.CQEntries())
	}
	for i := 0; i < 3; i++ {
		s := sqe(t, r)
		s.PrepNop()
		s.SetData64(uint64(100 + i))
	}
	if r.SQReady() != 3 {
		t.Fatalf("SQReady %d", r.SQReady())
	}
	got := wait(t, r, 3)
	for i, c := range got {
		if c.UserData != uint64(100+i) || c.Res != 0 {
			t.Fatalf("cqe %d: %+v", i, c)
		}
	}
	if r.Enters == 0 || r.Submitted != 3 {
		t.Fatalf("enters %d submitted %d", r.Enters, r.Submitted)
	}
}

func TestSQFull(t *testing.T) {
	r := newRing(t, 4, nil)
	for i := 0; i < 4; i++ {
		sqe(t, r).PrepNop()
	}
	if r.GetSQE() != nil {
		t.Fatal("a fifth SQE from a ring of four")
	}
	wait(t, r, 4)
	if r.GetSQE() == nil {
		t.Fatal("no SQE after the queue drained")
	}
}

func TestWaitTimeout(t *testing.T) {
	r := newRing(t, 4, nil)
	start := time.Now()
	_, err := r.SubmitAndWaitTimeout(1, 30*time.Millisecond)
	if !errors.Is(err, unix.ETIME) {
		t.Fatalf("err %v, want ETIME", err)
	}
	if d := time.Since(start); d < 25*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %v for a 30ms timeout", d)
	}
}

// TestLongWaitStartsRaw: a wait longer than RawWait is made in two enters,
// RawWait raw and the rest through the runtime (one RuntimeWait), and still
// lasts its whole timeout; one within RawWait is a single raw enter. (sysmon
// may signal a raw wait as a goroutine that seems to run too long, which
// ends it with EINTR: such a try is made again.)
func TestLongWaitStartsRaw(t *testing.T) {
	r := newRing(t, 4, nil)
	r.RawWait = 3 * time.Millisecond
	for _, c := range []struct {
		timeout              time.Duration
		enters, runtimeWaits uint64
	}{{30 * time.Millisecond, 2, 1}, {2 * time.Millisecond, 1, 0}} {
		for try := 0; ; try++ {
			enters, runtimeWaits := r.Enters, r.RuntimeWaits
			start := time.Now()
			_, err := r.SubmitAndWaitTimeout(1, c.timeout)
			took := time.Since(start)
			if errors.Is(err, unix.EINTR) && try < 5 {
				continue
			}
			if !errors.Is(err, unix.ETIME) || took < c.timeout*9/10 || took > c.timeout+2*time.Second {
				t.Fatalf("timeout %v: err %v after %v, want ETIME after the whole timeout", c.timeout, err, took)
			}
			if r.Enters-enters != c.enters || r.RuntimeWaits-runtimeWaits != c.runtimeWaits {
				t.Fatalf("timeout %v: %d enters, %d through the runtime; want %d and %d",
					c.timeout, r.Enters-enters, r.RuntimeWaits-runtimeWaits, c.enters, c.runtimeWaits)
			}
			break
		}
	}
}

// TestWaitEndsOnSignal: a wait that a signal interrupts returns EINTR at
// once instead of waiting again, with or without the runtime's bookkeeping,
// so that the goroutine gets back to Go code, where the runtime can preempt
// it. Retried, a raw wait held its P for as long as signals kept coming
// (each retry restarting its timeout), and they keep coming: sysmon
// signals a goroutine that seems to run for more than 10 ms, as one in a
// raw syscall does, and a stop-the-world signals the goroutine whose P it
// needs. SIGURG is the runtime's own preemption signal: the program ignores
// it. The waits run on a goroutine of their own, so that one that never
// ends fails the test instead of hanging it.
func TestWaitEndsOnSignal(t *testing.T) {
	r := newRing(t, 4, nil)
	type result struct {
		raw     time.Duration
		err     error
		took    time.Duration
		runtime uint64
	}
	results := make(chan result)
	go func() {
		runtime.LockOSThread()
		pid, tid := unix.Getpid(), unix.Gettid()
		for _, raw := range []time.Duration{2 * time.Second, 0} {
			r.RawWait = raw
			before := r.RuntimeWaits
			done := make(chan struct{})
			go func() {
				for {
					select {
					case <-done:
						return
					case <-time.After(20 * time.Millisecond):
						unix.Tgkill(pid, tid, unix.SIGURG)
					}
				}
			}()
			start := time.Now()
			_, err := r.SubmitAndWaitTimeout(1, time.Second)
			close(done)
			results <- result{raw, err, time.Since(start), r.RuntimeWaits - before}
		}
	}()
	for range 2 {
		select {
		case res := <-results:
			if !errors.Is(res.err, unix.EINTR) || res.took > 500*time.Millisecond {
				t.Fatalf("RawWait %v: err %v after %v, want EINTR at the first signal", res.raw, res.err, res.took)
			}
			if want := map[bool]uint64{true: 1}[res.raw == 0]; res.runtime != want {
				t.Fatalf("RawWait %v: %d runtime waits, want %d", res.raw, res.runtime, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a wait signalled every 20 ms has not returned in 5 s: it waits again after each signal")
		}
	}
}

func TestTimeoutOp(t *testing.T) {
	r := newRing(t, 4, nil)
	ts := &Timespec{Nsec: int64(20 * time.Millisecond)}
	s := sqe(t, r)
	s.PrepTimeout(ts, 0, 0)
	s.SetData64(9)
	start := time.Now()
	c := wait(t, r, 1)[0]
	if c.UserData != 9 || c.Res != -int32(unix.ETIME) || time.Since(start) < 15*time.Millisecond {
		t.Fatalf("%+v after %v", c, time.Since(start))
	}
}

func listen(t *testing.T) (int, string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	return fd, net.JoinHostPort("127.0.0.1", itoa(sa.(*unix.SockaddrInet4).Port))
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestAcceptSendRecv: accept a loopback connection, send to it, receive
// from it, close it, each through the ring.
func TestAcceptSendRecv(t *testing.T) {
	r := newRing(t, 8, nil)
	lnfd, addr := listen(t)
	s := sqe(t, r)
	s.PrepAccept(lnfd, unix.SOCK_CLOEXEC)
	s.SetData64(1)
	client, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := wait(t, r, 1)[0]
	if c.UserData != 1 || c.Res < 0 {
		t.Fatalf("accept: %+v", c)
	}
	fd := int(c.Res)

	out := mmap(t, 4096)
	copy(out, "to the client")
	s = sqe(t, r)
	s.PrepSend(fd, unsafe.Pointer(&out[0]), 13, unix.MSG_NOSIGNAL)
	s.SetData64(2)
	if c := wait(t, r, 1)[0]; c.UserData != 2 || c.Res != 13 {
		t.Fatalf("send: %+v", c)
	}
	got := make([]byte, 13)
	if _, err := client.Read(got); err != nil || string(got) != "to the client" {
		t.Fatalf("client read %q %v", got, err)
	}

	in := mmap(t, 4096)
	s = sqe(t, r)
	s.PrepRecv(fd, in[:100], 0)
	s.SetData64(3)
	client.Write([]byte("to the server"))
	if c := wait(t, r, 1)[0]; c.UserData != 3 || c.Res != 13 || string(in[:13]) != "to the server" {
		t.Fatalf("recv: %+v %q", c, in[:13])
	}

	s = sqe(t, r)
	s.PrepShutdown(fd, unix.SHUT_WR)
	s.SetData64(4)
	if c := wait(t, r, 1)[0]; c.UserData != 4 || c.Res != 0 {
		t.Fatalf("shutdown: %+v", c)
	}
	if n, err := client.Read(got); n != 0 || err == nil {
		t.Fatalf("client read after shutdown: %d %v", n, err)
	}
	s = sqe(t, r)
	s.PrepClose(fd)
	s.SetData64(5)
	if c := wait(t, r, 1)[0]; c.UserData != 5 || c.Res != 0 {
		t.Fatalf("close: %+v", c)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Fatalf("descriptor still open after close: %v", err)
	}
}

func TestMultishotAccept(t *testing.T) {
	r := newRing(t, 8, nil)
	lnfd, addr := listen(t)
	s := sqe(t, r)
	s.PrepMultishotAccept(lnfd, unix.SOCK_CLOEXEC)
	s.SetData64(7)
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for i, c := range wait(t, r, 3) {
		if c.UserData != 7 || c.Res < 0 || c.Flags&CQEFMore == 0 {
			t.Fatalf("accept %d: %+v (want a descriptor and IORING_CQE_F_MORE)", i, c)
		}
		unix.Close(int(c.Res))
	}
	s = sqe(t, r)
	s.PrepCancel64(7, 0)
	s.SetData64(8)
	got := wait(t, r, 2)
	for _, c := range got {
		switch c.UserData {
		case 7:
			if c.Res != -int32(unix.ECANCELED) || c.Flags&CQEFMore != 0 {
				t.Fatalf("cancelled accept: %+v", c)
			}
		case 8:
			if c.Res != 0 {
				t.Fatalf("cancel: %+v", c)
			}
		}
	}
}

// bufGroup registers a buffer ring of n buffers of size bytes and returns it
// with the memory behind the buffers.
func bufGroup(t *testing.T, r *Ring, n, size int, flags uint16) (*BufRing, []byte) {
	t.Helper()
	br, err := r.SetupBufRing(n, 1, flags)
	if err != nil {
		if errors.Is(err, unix.EINVAL) && flags&PbufRingInc != 0 {
			t.Skip("this kernel refuses IOU_PBUF_RING_INC (incremental buffers):", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { r.FreeBufRing(br) })
	mem := mmap(t, n*size)
	for i := 0; i < n; i++ {
		br.Add(unsafe.Pointer(&mem[i*size]), uint32(size), uint16(i), i)
	}
	br.Advance(n)
	return br, mem
}

func armRecv(t *testing.T, r *Ring, fd int, br *BufRing, data uint64) {
	s := sqe(t, r)
	s.PrepRecvMultishot(fd, 0)
	s.SetBufferSelect(br.Group())
	s.SetData64(data)
}

// TestRecvMultishot: one SQE, a CQE per arrival, each in a provided buffer.
func TestRecvMultishot(t *testing.T) {
	r := newRing(t, 8, nil)
	a, b := socketpair(t)
	br, mem := bufGroup(t, r, 4, 64, 0)
	armRecv(t, r, a, br, 11)
	for _, msg := range []string{"first", "second", "third"} {
		unix.Write(b, []byte(msg))
		c := wait(t, r, 1)[0]
		if c.UserData != 11 || c.Flags&CQEFBuffer == 0 || c.Flags&CQEFMore == 0 {
			t.Fatalf("%s: %+v", msg, c)
		}
		bid := int(c.BufferID())
		if got := string(mem[bid*64 : bid*64+int(c.Res)]); got != msg {
			t.Fatalf("buffer %d holds %q, want %q", bid, got, msg)
		}
	}
}

// TestBufRingRunsDry: with every buffer in use, the multishot receive ends
// with -ENOBUFS and no IORING_CQE_F_MORE; once buffers are given back and the
// receive re-armed, data flows again, none lost.
func TestBufRingRunsDry(t *testing.T) {
	r := newRing(t, 8, nil)
	a, b := socketpair(t)
	br, mem := bufGroup(t, r, 2, 64, 0)
	armRecv(t, r, a, br, 21)
	var bids []uint16
	for _, msg := range []string{"one", "two"} {
		unix.Write(b, []byte(msg))
		c := wait(t, r, 1)[0]
		if c.Res != int32(len(msg)) || c.Flags&CQEFMore == 0 {
			t.Fatalf("%s: %+v", msg, c)
		}
		bids = append(bids, c.BufferID())
	}
	unix.Write(b, []byte("three"))
	c := wait(t, r, 1)[0]
	if c.Res != -int32(unix.ENOBUFS) || c.Flags&CQEFMore != 0 {
		t.Fatalf("dry ring: %+v, want -ENOBUFS without IORING_CQE_F_MORE", c)
	}
	for i, bid := range bids {
		br.Add(unsafe.Pointer(&mem[int(bid)*64]), 64, bid, i)
	}
	br.Advance(len(bids))
	armRecv(t, r, a, br, 22)
	c = wait(t, r, 1)[0]
	bid := int(c.BufferID())
	if c.UserData != 22 || string(mem[bid*64:bid*64+int(c.Res)]) != "three" {
		t.Fatalf("after re-arming: %+v %q", c, mem[bid*64:bid*64+max(int(c.Res), 0)])
	}
}

// TestRecvMultishotNeedsBufferSelect: without a buffer group the kernel has
// nowhere to put data and says so.
func TestRecvMultishotNeedsBufferSelect(t *testing.T) {
	r := newRing(t, 8, nil)
	a, _ := socketpair(t)
	s := sqe(t, r)
	s.PrepRecvMultishot(a, 0)
	if c := wait(t, r, 1)[0]; c.Res != -int32(unix.EINVAL) {
		t.Fatalf("%+v, want -EINVAL", c)
	}
}

// TestIncrementalBuffers: with IOU_PBUF_RING_INC a buffer serves several
// receives, each CQE saying whether the kernel keeps using it.
func TestIncrementalBuffers(t *testing.T) {
	r := newRing(t, 8, nil)
	a, b := socketpair(t)
	br, mem := bufGroup(t, r, 1, 64, PbufRingInc)
	armRecv(t, r, a, br, 31)
	off := 0
	for _, msg := range []string{"0123456789", "abcdefghij"} {
		unix.Write(b, []byte(msg))
		c := wait(t, r, 1)[0]
		if c.BufferID() != 0 || c.Flags&CQEFBufMore == 0 {
			t.Fatalf("%s: %+v, want buffer 0 with IORING_CQE_F_BUF_MORE", msg, c)
		}
		if got := string(mem[off : off+int(c.Res)]); got != msg {
			t.Fatalf("at %d: %q, want %q", off, got, msg)
		}
		off += int(c.Res)
	}
}

// TestReadEventfd: a read on an eventfd completes when another thread
// writes to it, which is how a reactor is woken.
func TestReadEventfd(t *testing.T) {
	r := newRing(t, 8, nil)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	buf := mmap(t, 4096)
	s := sqe(t, r)
	s.PrepRead(efd, buf[:8], ^uint64(0))
	s.SetData64(61)
	r.Submit()
	go unix.Write(efd, []byte{3, 0, 0, 0, 0, 0, 0, 0})
	if c := wait(t, r, 1)[0]; c.UserData != 61 || c.Res != 8 || buf[0] != 3 {
		t.Fatalf("%+v %v", c, buf[:8])
	}
}

func TestCancelFd(t *testing.T) {
	r := newRing(t, 8, nil)
	a, _ := socketpair(t)
	br, _ := bufGroup(t, r, 2, 64, 0)
	armRecv(t, r, a, br, 41)
	s := sqe(t, r)
	s.PrepCancelFd(a, 0)
	s.SetData64(42)
	for _, c := range wait(t, r, 2) {
		if c.UserData == 41 && c.Res != -int32(unix.ECANCELED) || c.UserData == 42 && c.Res != 0 {
			t.Fatalf("%+v", c)
		}
	}
}

// TestMsgRing: one ring posts a completion into another, which is how an
// acceptor ring hands a connection to a reactor.
func TestMsgRing(t *testing.T) {
	src := newRing(t, 8, nil)
	dst := newRing(t, 8, nil)
	s := sqe(t, src)
	s.PrepMsgRing(dst.Fd(), 42, 0xfeed, 0)
	s.SetData64(1)
	if c := wait(t, src, 1)[0]; c.UserData != 1 || c.Res != 0 {
		t.Fatalf("sender: %+v", c)
	}
	if c := wait(t, dst, 1)[0]; c.UserData != 0xfeed || c.Res != 42 {
		t.Fatalf("target: %+v", c)
	}
}

func TestProbe(t *testing.T) {
	r := newRing(t, 4, nil)
	p, err := r.GetProbe()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []uint8{OpNop, OpAccept, OpRecv, OpSend, OpClose, OpAsyncCancel, OpTimeout, OpMsgRing} {
		if !p.Supported(op) {
			t.Errorf("%s not supported", OpNames[op])
		}
	}
	if int(p.LastOp) < OpMsgRing {
		t.Errorf("last op %d", p.LastOp)
	}
}

func TestTrySetupFlags(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	trials := TrySetupFlags()
	if len(trials) == 0 || trials[0].Flags != 0 || trials[0].Err != nil {
		t.Fatalf("a plain ring was refused: %+v", trials)
	}
	for _, tr := range trials {
		if tr.Name == "" {
			t.Errorf("unnamed flags %#x", tr.Flags)
		}
		// DEFER_TASKRUN needs SINGLE_ISSUER: the kernel must say no.
		if tr.Flags == SetupDeferTaskrun && tr.Err == nil {
			t.Errorf("DEFER_TASKRUN alone accepted")
		}
	}
}

// TestSQPoll: the kernel thread submits; once idle it sleeps, and a submit
// wakes it.
func TestSQPoll(t *testing.T) {
	r := newRing(t, 8, &Params{Flags: SetupSQPoll, SQThreadIdle: 5})
	sqe(t, r).PrepNop()
	wait(t, r, 1)
	time.Sleep(50 * time.Millisecond) // ten idle periods: the thread sleeps
	s := sqe(t, r)
	s.PrepNop()
	s.SetData64(5)
	if c := wait(t, r, 1)[0]; c.UserData != 5 {
		t.Fatalf("%+v", c)
	}
	if r.Wakeups == 0 {
		t.Fatal("the sleeping SQ thread was never woken")
	}
	// Submits while the thread has not yet taken an SQE count it once.
	before := r.Submitted
	sqe(t, r).PrepNop()
	for range 5 {
		r.Submit()
	}
	wait(t, r, 1)
	if got := r.Submitted - before; got != 1 {
		t.Fatalf("one SQE counted %d times as submitted", got)
	}
}

// TestDeferTaskrun: with DEFER_TASKRUN completions are posted only when the
// owner enters the kernel to get them, from the thread that made the ring.
func TestDeferTaskrun(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 8, &Params{Flags: SetupSingleIssuer | SetupDeferTaskrun})
	a, b := socketpair(t)
	br, _ := bufGroup(t, r, 2, 64, 0)
	armRecv(t, r, a, br, 51)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	unix.Write(b, []byte("x"))
	time.Sleep(10 * time.Millisecond)
	if r.CQReady() != 0 {
		t.Fatal("a completion was posted without entering the kernel")
	}
	if c := wait(t, r, 1)[0]; c.UserData != 51 || c.Res != 1 {
		t.Fatalf("%+v", c)
	}
}

// TestFixedFiles fills a slot of the registered file table with an SQE,
// sends through it, and shows why a slot must be emptied before its socket
// can close: it holds a reference of its own, so closing the descriptor
// alone leaves the peer waiting.
func TestFixedFiles(t *testing.T) {
	r := newRing(t, 8, nil)
	if err := r.RegisterFilesSparse(4); err != nil {
		t.Fatal(err)
	}
	if r.Files() != 4 {
		t.Fatalf("Files() = %d, want 4", r.Files())
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := fds[0], fds[1]
	defer unix.Close(b)
	mem := mmap(t, 16)
	slot := unsafe.Slice((*int32)(unsafe.Pointer(&mem[0])), 1) // read by the kernel at submit
	msg := mem[8:13]
	copy(msg, "fixed")
	update := func(fd int) {
		t.Helper()
		slot[0] = int32(fd)
		s := sqe(t, r)
		s.PrepFilesUpdate(slot, 2)
		s.SetData64(9)
		if c := wait(t, r, 1)[0]; c.Res != 1 {
			t.Fatalf("files update of slot 2 to %d: res %d, want 1", fd, c.Res)
		}
	}
	send := func() CQE {
		s := sqe(t, r)
		s.PrepSend(2, unsafe.Pointer(&msg[0]), len(msg), unix.MSG_NOSIGNAL)
		s.Flags |= SQEFixedFile
		s.SetData64(7)
		return wait(t, r, 1)[0]
	}
	update(a)
	if c := send(); c.Res != 5 {
		t.Fatalf("send through slot 2: res %d, want 5", c.Res)
	}
	buf := make([]byte, 16)
	if n, err := unix.Read(b, buf); err != nil || string(buf[:n]) != "fixed" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}

	unix.Close(a) // the slot still holds the socket
	readable := func() bool {
		p := []unix.PollFd{{Fd: int32(b), Events: unix.POLLIN}}
		n, _ := unix.Poll(p, 50)
		return n > 0
	}
	if readable() {
		t.Fatal("the peer saw the end of the stream while the slot still held the socket")
	}
	if c := send(); c.Res != 5 {
		t.Fatalf("send through the slot after close(2): res %d, want 5", c.Res)
	}
	unix.Read(b, buf)
	update(-1)
	if !readable() {
		t.Fatal("emptying the slot did not close the socket")
	}
	if n, err := unix.Read(b, buf); n != 0 || err != nil {
		t.Fatalf("peer read %d bytes, %v; want the end of the stream", n, err)
	}
	if c := send(); c.Res != -int32(unix.EBADF) {
		t.Fatalf("send through an empty slot: res %d, want -EBADF", c.Res)
	}
}

// TestRegisterFilesSparseLimit: the kernel refuses a table with more slots
// than RLIMIT_NOFILE allows.
func TestRegisterFilesSparseLimit(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= 1<<20 {
		t.Skipf("RLIMIT_NOFILE %d is above the kernel's own table limit", lim.Cur)
	}
	r := newRing(t, 8, nil)
	if err := r.RegisterFilesSparse(uint32(lim.Cur) + 1); !errors.Is(err, unix.EMFILE) {
		t.Fatalf("a table of RLIMIT_NOFILE+1 slots: %v, want EMFILE", err)
	}
	if r.Files() != 0 {
		t.Fatalf("Files() = %d after a refused registration", r.Files())
	}
}

// TestRegisteredRingFd enters the ring by its index in the thread's table of
// registered rings, and Close gives the index back.
func TestRegisteredRingFd(t *testing.T) {
	runtime.LockOSThread() // the registration belongs to this thread
	defer runtime.UnlockOSThread()
	r := newRing(t, 8, nil)
	if err := r.RegisterRingFd(); err != nil {
		t.Fatal(err)
	}
	if r.enterFlags&EnterRegisteredRing == 0 || r.enterFd == r.fd {
		t.Fatalf("enter fd %d, flags %#x: not registered", r.enterFd, r.enterFlags)
	}
	for i := 0; i < 3; i++ {
		s := sqe(t, r)
		s.PrepNop()
		s.SetData64(uint64(i))
		if c := wait(t, r, 1)[0]; c.UserData != uint64(i) || c.Res != 0 {
			t.Fatalf("nop %d: %+v", i, c)
		}
	}
	first := r.enterFd
	r.Close()
	if r.enterFlags != 0 {
		t.Fatal("Close left the ring registered")
	}
	r2 := newRing(t, 8, nil)
	if err := r2.RegisterRingFd(); err != nil {
		t.Fatal(err)
	}
	if r2.enterFd != first {
		t.Fatalf("the next registration got index %d, not the freed %d", r2.enterFd, first)
	}
	r2.Close() // here, on the thread that registered it (cleanups run after the unlock)
}
