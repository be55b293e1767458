package epoll_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iolab/internal/childtest"
	"iolab/models"
)

func TestMain(m *testing.M) { childtest.Main(m) }

func start(t *testing.T, knobs ...string) models.Core {
	t.Helper()
	return childtest.StartCore(t, "epoll", "bench", knobs...)
}

// readPlaintext reads n plaintext responses with net/http's parser and
// checks each.
func readPlaintext(t *testing.T, br *bufio.Reader, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d of %d: %v", i, n, err)
		}
		body, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 || string(body) != "Hello, World!" {
			t.Fatalf("response %d: %d %q %v", i, res.StatusCode, body, err)
		}
	}
}

// TestBackPressure: a client that pipelines without reading does not make
// the server buffer its answers without bound. Above write_high_water the
// loop stops reading that connection, so most of what the client sent stays
// in the kernel; once the client reads, every response arrives, in order.
func TestBackPressure(t *testing.T) {
	for _, trigger := range []string{"edge", "level"} {
		t.Run(trigger, func(t *testing.T) {
			core := start(t, "loops=1", "trigger="+trigger, "write_high_water=64KiB")
			c, err := net.Dial("tcp", core.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// More than the kernel's socket buffers on both sides hold.
			const n = 300_000
			batch := []byte(strings.Repeat(childtest.PlaintextRequest, 1000))
			sent := make(chan error, 1)
			go func() {
				for i := 0; i < n/1000; i++ {
					if _, err := c.Write(batch); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			time.Sleep(300 * time.Millisecond)
			st := core.Stats()
			if in, total := st.Get(models.BytesIn), uint64(n*len(childtest.PlaintextRequest)); in >= total/2 {
				t.Fatalf("the server read %d of %d bytes while the client read nothing", in, total)
			}
			select {
			case err := <-sent:
				t.Fatalf("the client wrote everything (%v) although the server should have stopped reading", err)
			default:
			}
			readPlaintext(t, bufio.NewReaderSize(c, 64<<10), n)
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if st := core.Stats(); st.Get(models.WriteEAGAIN) == 0 {
				t.Fatalf("no write ever found the socket full: %+v", st.Counters)
			}
		})
	}
}

// TestManyConnections holds 10,000 keep-alive connections, more than the
// default RLIMIT_NOFILE soft limit of 1024, against a server in its own
// process, and checks every response. It also measures what an idle
// connection costs the server in resident memory.
func TestManyConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	const n = 10_000
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &lim)
	if lim.Cur < n+100 {
		t.Skipf("the test process may open only %d files; it needs %d", lim.Cur, n+100)
	}
	for _, accept := range []string{"reuseport", "acceptor"} {
		t.Run(accept, func(t *testing.T) {
			child := childtest.Start(t, "epoll", "bench", []string{"accept=" + accept}, -1, 0)
			rss0 := child.RSS()
			conns := make([]net.Conn, n)
			readers := make([]*bufio.Reader, n)
			for i := range conns {
				c, err := net.Dial("tcp", child.Addr)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				defer c.Close()
				conns[i], readers[i] = c, bufio.NewReaderSize(c, 512)
			}
			// Two rounds: every connection answers, and stays open.
			for round := 0; round < 2; round++ {
				var wg sync.WaitGroup
				errs := make(chan error, 16)
				for w := 0; w < 16; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := w; i < n; i += 16 {
							conns[i].SetDeadline(time.Now().Add(20 * time.Second))
							if _, err := io.WriteString(conns[i], childtest.PlaintextRequest); err != nil {
								errs <- fmt.Errorf("round %d, connection %d: %w", round, i, err)
								return
							}
							res, err := http.ReadResponse(readers[i], nil)
							if err != nil {
								errs <- fmt.Errorf("round %d, connection %d: %w", round, i, err)
								return
							}
							body, _ := io.ReadAll(res.Body)
							if res.StatusCode != 200 || !bytes.Equal(body, []byte("Hello, World!")) {
								errs <- fmt.Errorf("round %d, connection %d: %d %q", round, i, res.StatusCode, body)
								return
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
			}
			time.Sleep(200 * time.Millisecond) // idle: buffers back in the pools
			rss1 := child.RSS()
			for _, c := range conns {
				c.Close()
			}
			rep := child.Stop()
			st := rep.Stats
			if st.Get(models.Accepted) != n || st.Get(models.Requests) != 2*n || st.Get(models.Status2xx) != 2*n || st.Get(models.Rejected) != 0 {
				t.Fatalf("accepted %d, requests %d, 2xx %d, rejected %d; want %d, %d, %d, 0",
					st.Get(models.Accepted), st.Get(models.Requests), st.Get(models.Status2xx), st.Get(models.Rejected), n, 2*n, 2*n)
			}
			t.Logf("%d idle keep-alive connections: server RSS %d KiB -> %d KiB, %.0f bytes per connection",
				n, rss0>>10, rss1>>10, float64(rss1-rss0)/n)
		})
	}
}
