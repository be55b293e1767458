package uring_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"iolab/internal/childtest"
	"iolab/loadgen"
	"iolab/models"
	"iolab/models/app"
	"iolab/models/uring/ring"
)

func TestMain(m *testing.M) { childtest.Main(m) }

func start(t *testing.T, appName string, knobs ...string) models.Core {
	t.Helper()
	if err := ring.Available(); err != nil {
		t.Skip(err)
	}
	return childtest.StartCore(t, "uring", appName, knobs...)
}

// TestTinyBufferRing pipelines requests at reactors whose provided buffer
// ring holds four buffers of 512 bytes, in every variant of the model
// (SQPOLL off and on, each taskrun mode, both accept modes): the ring runs
// dry again and again, and the load generator, which knows the body each
// request must get back (a sum, different for each of 64 requests of
// different lengths, each longer than a buffer), receives every response,
// right and in order, and loses none.
func TestTinyBufferRing(t *testing.T) {
	m, err := models.Lookup("uring")
	if err != nil {
		t.Fatal(err)
	}
	var paths, bodies []string
	for i := 0; i < 64; i++ {
		paths = append(paths, fmt.Sprintf("/baseline?a=%d%s", i, strings.Repeat("&z=0", i%40)))
		bodies = append(bodies, strconv.Itoa(i))
	}
	for _, v := range m.Variants {
		t.Run(v.Name, func(t *testing.T) {
			knobs := []string{"buf_entries=4", "buf_size=512"}
			for _, k := range v.Knobs {
				if !strings.HasPrefix(k, "buf_") {
					knobs = append(knobs, k)
				}
			}
			core := start(t, "bench", knobs...)
			const conns, depth, count = 32, 16, 32 * 16 * 20
			res, err := loadgen.Run(context.Background(), loadgen.Config{
				URL: "http://" + core.Addr().String() + "/", Paths: paths, ExpectBodies: bodies,
				Headers:     []loadgen.Header{{Name: "X-Pad", Value: strings.Repeat("p", 600)}},
				Connections: conns, Pipeline: depth, Count: count, ExpectStatus: 200, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			st := core.Stats()
			if res.Errors.Total() != 0 || res.Received != count || res.Sent != count || res.Lost != 0 || res.InFlight != 0 {
				t.Fatalf("sent %d, received %d, lost %d, in flight %d, errors %+v; want %d received and nothing else",
					res.Sent, res.Received, res.Lost, res.InFlight, res.Errors, count)
			}
			if st.Get(models.BufExhausted) == 0 || st.Get(models.Rearms) == 0 {
				t.Fatalf("the ring never ran dry (exhausted %d, re-arms %d): the test proves nothing",
					st.Get(models.BufExhausted), st.Get(models.Rearms))
			}
			t.Logf("%d responses verified; the buffer ring ran dry %d times; %d re-arms", res.Received, st.Get(models.BufExhausted), st.Get(models.Rearms))
		})
	}
}

// TestCounters checks what the reactors count against a known load.
func TestCounters(t *testing.T) {
	core := start(t, "bench", "loops=1")
	c, err := net.Dial("tcp", core.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 50; i++ {
		io.WriteString(c, strings.Repeat("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 4))
		for j := 0; j < 4; j++ {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(res.Body)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	var st models.Stats
	for time.Now().Before(deadline) {
		if st = core.Stats(); st.Get(models.Requests) == 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var buckets uint64
	for i := range models.CQEBuckets {
		buckets += st.Get(models.CQEsPerEnter + models.Counter(i))
	}
	if st.Get(models.Requests) != 200 || st.Get(models.SysIOUringEnter) == 0 || st.Get(models.SQEs) == 0 ||
		st.Get(models.CQEs) < 100 || buckets == 0 || st.Get(models.SysRead) != 0 {
		t.Fatalf("counters: %+v", st.Counters)
	}
}

// TestRefused: where io_uring_setup is refused (here by a seccomp filter,
// as a container profile would), the uring core fails at start with one line
// that says why, and the other cores still work.
func TestRefused(t *testing.T) {
	_, err := childtest.StartSpec(t, childtest.Spec{Model: "uring", App: "bench", DenyIOURing: true})
	if err == nil {
		t.Fatal("the uring core started although io_uring_setup is refused")
	}
	if msg := err.Error(); !strings.Contains(msg, "unavailable here") || !strings.Contains(msg, "io_uring_setup") ||
		!strings.Contains(msg, "seccomp") || strings.Contains(msg, "\n") {
		t.Fatalf("error %q does not say, in one line, that io_uring is refused and why", msg)
	}
	for _, m := range []string{"epoll", "netstd"} {
		c, err := childtest.StartSpec(t, childtest.Spec{Model: m, App: "bench", DenyIOURing: true})
		if err != nil {
			t.Fatalf("%s with io_uring refused: %v", m, err)
		}
		res, err := http.Get("http://" + c.Addr + "/plaintext")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		c.Stop()
	}
}

// TestSQPollCPU runs the SQPOLL thread pinned to a CPU (SQ_AFF) and idling
// quickly. (It is rarely asleep when a reactor submits: completions wake it,
// because with SQPOLL it is the thread that runs their task work. So the
// count of wake-ups is logged, not asserted.)
func TestSQPollCPU(t *testing.T) {
	core := start(t, "bench", "loops=1", "sqpoll=on", "taskrun=none", "sq_cpu=0", "sq_idle_ms=5")
	for i := 0; i < 3; i++ {
		res, err := http.Get("http://" + core.Addr().String() + "/plaintext")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "Hello, World!" {
			t.Fatalf("body %q", body)
		}
		time.Sleep(20 * time.Millisecond) // the SQ thread goes to sleep in between
	}
	st := core.Stats()
	if st.Get(models.SQEs) == 0 {
		t.Fatalf("no SQE counted: %+v", st.Counters)
	}
	t.Logf("SQEs %d, io_uring_enter %d, SQPOLL wake-ups %d", st.Get(models.SQEs), st.Get(models.SysIOUringEnter), st.Get(models.SQPollWakeups))
}

func TestKnobValidation(t *testing.T) {
	m, err := models.Lookup("uring")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := app.Lookup("bench")
	for _, bad := range [][]string{{"sqpoll=on", "taskrun=defer"}, {"sqpoll=on"}, {"sq_cpu=1"}, {"buf_entries=3"}} {
		if _, err := models.NewConfig(m, a, bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestBackPressureResumes: a response above write_high_water cancels the
// connection's receive until the output drains. When the send completes
// before the cancelled receive does (both land in one batch), the receive
// must still be armed again, or the connection reads nothing more and
// stalls until the idle timeout. Each of these requests pauses the
// connection, and each must be answered at once.
func TestBackPressureResumes(t *testing.T) {
	for _, taskrun := range []string{"defer", "none"} {
		t.Run(taskrun, func(t *testing.T) {
			core := start(t, "echo", "loops=1", "write_high_water=4KiB", "taskrun="+taskrun, "idle_timeout=30s")
			c, err := net.Dial("tcp", core.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			body := strings.Repeat("w", 16<<10)
			for i := 0; i < 300; i++ {
				c.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := fmt.Fprintf(c, "POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
					t.Fatal(err)
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d: %v (the connection stopped reading after a pause?)", i, err)
				}
				if got, _ := io.ReadAll(res.Body); len(got) != len(body) {
					t.Fatalf("request %d: %d bytes", i, len(got))
				}
			}
		})
	}
}

// TestPausedInputIsKept: a multishot receive goes on delivering what the
// socket holds until its back-pressure cancel takes effect. A connection
// that pipelines a burst without reading pauses at its first response;
// the buffers that come after are kept unparsed, and served in order once
// its output drains, every one of them exactly once.
func TestPausedInputIsKept(t *testing.T) {
	core := start(t, "echo", "loops=1", "write_high_water=4KiB", "idle_timeout=30s")
	c, err := net.Dial("tcp", core.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	const n = 64
	var burst strings.Builder
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("%05d", i) + strings.Repeat("k", 16<<10)
		fmt.Fprintf(&burst, "POST /k HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", len(bodies[i]), bodies[i])
	}
	go io.WriteString(c, burst.String())
	time.Sleep(200 * time.Millisecond) // the burst is in, and the core paused
	br := bufio.NewReader(c)
	for i, want := range bodies {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if got, _ := io.ReadAll(res.Body); string(got) != want {
			t.Fatalf("response %d: %d bytes beginning %.5q, want %.5q", i, len(got), got, want)
		}
	}
	if rest := br.Buffered(); rest != 0 {
		t.Fatalf("%d bytes after the last response", rest)
	}
	if p := core.Stats().Get(models.Pauses); p == 0 {
		t.Fatal("the connection never paused: the case was not made")
	}
}

// TestFewConnectionsDoNotWaitForABatch: a reactor waits for a batch of
// completions only as large as the load has been supplying. Here a batch
// of 64 may be waited for up to 200 ms, and one, then four, connections
// make requests one at a time: they can never supply 64 completions, and a
// reactor that waited for cqe_batch of them would spend 200 ms on every
// round trip (two seconds for the ten each connection makes).
func TestFewConnectionsDoNotWaitForABatch(t *testing.T) {
	for _, mode := range [][]string{{"taskrun=defer"}, {"taskrun=none"}, {"sqpoll=on", "taskrun=none"}} {
		for _, conns := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/%d", strings.Join(mode, ","), conns), func(t *testing.T) {
				core := start(t, "bench", append([]string{"loops=1", "cqe_batch=64", "wait_usec=200000"}, mode...)...)
				const rounds = 10
				began := time.Now()
				errs := make(chan error, conns)
				for i := 0; i < conns; i++ {
					go func() { errs <- roundTrips(core.Addr().String(), rounds) }()
				}
				for i := 0; i < conns; i++ {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
				// A second is five of the 200 ms waits: the test fails on
				// a reactor that waits on every round trip, not on a slow
				// machine.
				if took := time.Since(began); took > time.Second {
					t.Fatalf("%d connections × %d requests took %v: the reactor waited for completions that could not come", conns, rounds, took)
				}
			})
		}
	}
}

// roundTrips makes n requests on one connection, each after the last
// response.
func roundTrips(addr string, n int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < n; i++ {
		if _, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
			return err
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		if body, _ := io.ReadAll(res.Body); string(body) != "Hello, World!" {
			return fmt.Errorf("request %d: body %q", i, body)
		}
	}
	return nil
}

// TestRequestsSplitAcrossBuffers pipelines requests at a reactor whose
// provided buffers hold 64 bytes each, so every request is split between
// buffers, at every offset as the padding grows by a byte: the blank line
// that ends a head falls whole into one buffer or split one, two or three
// bytes from its end, as do bodies and chunks. Every response must come back
// with its own body, in order; after one that closes the connection, nothing
// more is answered.
func TestRequestsSplitAcrossBuffers(t *testing.T) {
	core := start(t, "echo", "loops=1", "buf_size=64")
	c, err := net.Dial("tcp", core.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var batch strings.Builder
	var want []string
	for i := 0; i < 3*64; i++ {
		pad := strings.Repeat("p", i)
		switch i % 3 {
		case 0:
			fmt.Fprintf(&batch, "GET /%d HTTP/1.1\r\nHost: t\r\nX-Pad: %s\r\n\r\n", i, pad)
			want = append(want, "")
		case 1:
			body := fmt.Sprintf("body %d %s", i, pad)
			fmt.Fprintf(&batch, "POST /%d HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)
			want = append(want, body)
		case 2:
			a, b := fmt.Sprintf("chunk %d ", i), pad+"\r\n\r\n"
			fmt.Fprintf(&batch, "POST /%d HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n",
				i, len(a), a, len(b), b)
			want = append(want, a+b)
		}
	}
	// The close is split from the request behind it as the others were.
	fmt.Fprintf(&batch, "POST /close HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 4\r\n\r\nlast")
	want = append(want, "last")
	batch.WriteString("GET /never HTTP/1.1\r\nHost: t\r\n\r\n")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(c, batch.String())
	br := bufio.NewReader(c)
	for i, body := range want {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		got, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 || string(got) != body {
			t.Fatalf("response %d: status %d, body %q (%v); want 200, %q", i, res.StatusCode, got, err, body)
		}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
		t.Fatalf("after the response that closed: %q, %v; want the end of the stream", rest, err)
	}
}

// TestFixedFiles: with fixed_files=on (the default) each connection's socket
// sits in its reactor's registered file table while it is open, and its slot
// is emptied when it closes (a slot holds the socket open by itself, so a
// slot left behind would leak it); with fixed_files=off the table is not
// used. The kernel's own account of the table (the UserFiles section of the
// ring's /proc fdinfo) is the witness.
func TestFixedFiles(t *testing.T) {
	for _, fixed := range []string{"on", "off"} {
		t.Run(fixed, func(t *testing.T) {
			core := start(t, "bench", "loops=1", "fixed_files="+fixed)
			const conns = 3
			var cs []net.Conn
			for i := 0; i < conns; i++ {
				c, err := net.Dial("tcp", core.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
				res, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				io.ReadAll(res.Body)
				cs = append(cs, c)
			}
			want := 0
			if fixed == "on" {
				want = conns
			}
			if got := registeredFiles(t); got != want {
				t.Fatalf("%d sockets in the registered file tables with %d connections open, want %d", got, conns, want)
			}
			for _, c := range cs {
				c.Close()
			}
			deadline := time.Now().Add(2 * time.Second)
			for core.Stats().Get(models.Closed) < conns && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			st := core.Stats()
			if st.Get(models.Closed) != conns {
				t.Fatalf("%d of %d connections closed", st.Get(models.Closed), conns)
			}
			// The slot is emptied by an SQE submitted at the reactor's
			// next enter, which the close itself is likely to precede.
			for registeredFiles(t) != 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := registeredFiles(t); got != 0 {
				t.Fatalf("%d sockets left in the registered file tables after every connection closed", got)
			}
		})
	}
}

// registeredFiles counts the files in the registered file tables of this
// process's rings, from each ring's fdinfo: after "UserFiles: <slots>", a
// line per slot in use ("   11: socket:[111491]").
func registeredFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); l != "anon_inode:[io_uring]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue // closed meanwhile
		}
		in := false
		for _, line := range strings.Split(string(info), "\n") {
			switch {
			case strings.HasPrefix(line, "UserFiles:"):
				in = true
			case in && strings.Contains(line, ": socket:"):
				n++
			case in && !strings.HasPrefix(line, " "):
				in = false
			}
		}
	}
	return n
}
