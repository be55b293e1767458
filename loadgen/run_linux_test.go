package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"iolab/internal/childtest"
	"iolab/models"
	_ "iolab/models/all"
)

// startCore starts one of the project's cores with the bench app on
// 127.0.0.1.
func startCore(t testing.TB, model string, knobs ...string) models.Core {
	t.Helper()
	return childtest.StartCore(t, model, "bench", knobs...)
}

// served waits for the core's request counter to settle (cores publish
// their counters once per batch, after writing) and returns it.
func served(core models.Core) uint64 {
	var last uint64
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		n := core.Stats().Get(models.Requests)
		if n == last {
			return n
		}
		last = n
	}
	return last
}

func mustRun(t *testing.T, cfg Config) *Result {
	t.Helper()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkBalance(t, res)
	return res
}

// checkBalance: nothing is lost silently.
func checkBalance(t *testing.T, res *Result) {
	t.Helper()
	if res.Sent != res.Received+res.Lost+res.InFlight {
		t.Errorf("sent %d != received %d + lost %d + in flight %d", res.Sent, res.Received, res.Lost, res.InFlight)
	}
	if res.Loop == OpenLoop && res.Issued != res.Sent+res.Expired+res.Waiting {
		t.Errorf("issued %d != sent %d + expired %d + waiting %d", res.Issued, res.Sent, res.Expired, res.Waiting)
	}
	if res.Requests != res.Received {
		t.Errorf("requests %d, received %d", res.Requests, res.Received)
	}
	if lostErrs := res.Errors.Read + res.Errors.Write + res.Errors.Timeout + res.Errors.Parse; lostErrs < res.Lost+res.Expired {
		t.Errorf("lost %d + expired %d but only %d errors for them", res.Lost, res.Expired, lostErrs)
	}
	h, err := res.DecodeHistogram()
	if err != nil {
		t.Fatal(err)
	}
	if uint64(h.TotalCount()) != res.Received {
		t.Errorf("histogram holds %d latencies, received %d", h.TotalCount(), res.Received)
	}
	var sum uint64
	for _, s := range res.Timeline {
		sum += s.Requests
	}
	if sum != res.Received {
		t.Errorf("timeline sums to %d, received %d", sum, res.Received)
	}
}

func text(t *testing.T, res *Result, latency bool) string {
	var b strings.Builder
	if err := res.WriteText(&b, latency); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestNoLossPipelined: with depth-16 pipelining, at 1 and at 1,000
// connections, every request the server answered is a response the load
// generator received, and the other way round.
func TestNoLossPipelined(t *testing.T) {
	for _, conns := range []int{1, 1000} {
		t.Run(fmt.Sprint(conns), func(t *testing.T) {
			core := startCore(t, "epoll")
			count := int64(conns * 16 * 3)
			res := mustRun(t, Config{URL: "http://" + core.Addr().String() + "/plaintext", Connections: conns,
				Pipeline: 16, Count: count, ExpectStatus: 200, ExpectBody: []byte("Hello, World!"), Timeout: 5 * time.Second})
			if got := served(core); got != res.Received || res.Received != uint64(count) || res.Sent != uint64(count) || res.InFlight != 0 {
				t.Fatalf("server answered %d; sent %d, received %d, in flight %d; want %d each", got, res.Sent, res.Received, res.InFlight, count)
			}
			if res.Errors.Total() != 0 || res.Status.S2xx != uint64(count) {
				t.Fatalf("errors %+v status %+v", res.Errors, res.Status)
			}
			// One write per batch of 16, and a read for every batch at
			// most (a read may bring several); nothing spent on closing.
			if sc := res.Syscalls; sc.Write != uint64(count/16) || sc.Read == 0 || sc.Read > uint64(count/16)*2 || sc.Close != 0 ||
				sc.PerRequest <= 0 || sc.PerRequest > 0.5 {
				t.Fatalf("syscalls %+v", sc)
			}
		})
	}
	t.Run("duration", func(t *testing.T) {
		core := startCore(t, "epoll")
		res := mustRun(t, Config{URL: "http://" + core.Addr().String() + "/plaintext", Connections: 1000,
			Pipeline: 16, Duration: 500 * time.Millisecond})
		// The server may have answered requests still in flight when the
		// window closed; never fewer than received, never more than sent.
		if got := served(core); got < res.Received || got > res.Sent || res.Received == 0 {
			t.Fatalf("server answered %d; received %d, sent %d", got, res.Received, res.Sent)
		}
		if !strings.Contains(text(t, res, false), fmt.Sprintf("Accounting: sent %d = received %d + lost 0 + in flight %d\n",
			res.Sent, res.Received, res.InFlight)) {
			t.Fatalf("no accounting line:\n%s", text(t, res, false))
		}
	})
}

// stallServer answers every request with a short 200, from a goroutine per
// connection, except that it stops answering for stall once, starting at
// after past its first request.
func stallServer(t *testing.T, after, stall time.Duration) string {
	var first atomic.Int64
	return tinyServer(t, func(c net.Conn) {
		serveRequests(c, func(int) ([]byte, bool) {
			now := time.Now().UnixNano()
			first.CompareAndSwap(0, now)
			from := first.Load() + int64(after)
			if until := from + int64(stall); now >= from && now < until {
				time.Sleep(time.Duration(until - now))
			}
			return []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), false
		})
	})
}

// TestCoordinatedOmission: a server that stalls for 500ms once. The open
// loop measures from when each request was due, so the requests that fell
// due during the stall carry it, and the high percentiles show it. The
// closed loop stops sending while the server stalls: only one request per
// connection sees it, the percentiles hide it, and the summary says which
// loop it was.
func TestCoordinatedOmission(t *testing.T) {
	addr := stallServer(t, 300*time.Millisecond, 500*time.Millisecond)
	open := mustRun(t, Config{URL: "http://" + addr + "/", Connections: 10, Rate: 1000, Duration: 1500 * time.Millisecond})
	if open.Latency.P99 < 400_000 || open.Latency.Max < 450_000 {
		t.Fatalf("open loop hides the stall: p99 %.0fus max %.0fus\n%s", open.Latency.P99, open.Latency.Max, text(t, open, true))
	}
	if s := text(t, open, true); !strings.Contains(s, "open-loop at 1000 req/s") {
		t.Fatalf("summary does not state the loop:\n%s", s)
	}
	addr = stallServer(t, 300*time.Millisecond, 500*time.Millisecond)
	closed := mustRun(t, Config{URL: "http://" + addr + "/", Connections: 10, Duration: 1500 * time.Millisecond})
	s := text(t, closed, true)
	if closed.Loop != ClosedLoop || !strings.Contains(s, "closed-loop, pipeline depth 1") {
		t.Fatalf("summary does not say closed-loop:\n%s", s)
	}
	if closed.Latency.Max < 400_000 || closed.Latency.P99 >= 400_000 {
		t.Fatalf("closed loop: p99 %.0fus max %.0fus; want the stall in max only\n%s", closed.Latency.P99, closed.Latency.Max, s)
	}
}

func TestOpenLoopRate(t *testing.T) {
	core := startCore(t, "epoll")
	// 100 connections, so each is due a request every 50 ms: the one-in-
	// flight cap holds the schedule back only if a response takes longer
	// than that (with 10, 5 ms: under the race detector on a busy machine
	// responses took 11 ms on average, and 18 due requests were not issued).
	res := mustRun(t, Config{URL: "http://" + core.Addr().String() + "/plaintext", Connections: 100, Rate: 2000, Duration: time.Second})
	if res.Received < 1800 || res.Received > 2200 || res.Issued < 1990 || res.Issued > 2010 {
		t.Fatalf("received %d, issued %d at 2000 req/s for 1s\n%s", res.Received, res.Issued, text(t, res, true))
	}
	if res.Errors.Total() != 0 || res.Loop != OpenLoop || res.Rate != 2000 {
		t.Fatalf("%+v", res)
	}
}

func TestExpectMismatch(t *testing.T) {
	core := startCore(t, "epoll")
	base := "http://" + core.Addr().String()
	cases := []struct {
		name        string
		cfg         Config
		status      bool // every response a status error
		body        bool // every response a body error
		fourHundred bool
	}{
		{"body", Config{URL: base + "/plaintext", ExpectBody: []byte("nope")}, false, true, false},
		{"empty: not checked", Config{URL: base + "/plaintext", ExpectBody: []byte("")}, false, false, false},
		{"status", Config{URL: base + "/plaintext", ExpectStatus: 201}, true, false, false},
		{"404", Config{URL: base + "/missing", ExpectStatus: 200}, true, false, true},
		{"both right", Config{URL: base + "/json", ExpectStatus: 200, ExpectBody: []byte(`{"message":"Hello, World!"}`)}, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Connections, cfg.Pipeline, cfg.Count = 4, 4, 400
			res := mustRun(t, cfg)
			want := func(b bool) uint64 {
				if b {
					return res.Received
				}
				return 0
			}
			if res.Received != 400 || res.Errors.Status != want(c.status) || res.Errors.Body != want(c.body) ||
				res.Errors.Total() != want(c.status)+want(c.body) || res.Status.S4xx != want(c.fourHundred) {
				t.Fatalf("received %d errors %+v status %+v", res.Received, res.Errors, res.Status)
			}
		})
	}
}

// TestExpectBodies: with one expected body per path, a server that answers
// a pipelined batch out of order is caught, response by response; in order,
// nothing is.
func TestExpectBodies(t *testing.T) {
	for _, swap := range []bool{false, true} {
		t.Run(fmt.Sprintf("swapped=%v", swap), func(t *testing.T) {
			addr := tinyServer(t, func(c net.Conn) {
				var pending []string
				serveRequestsRaw(c, func(req string) ([]byte, bool) {
					// "GET /N HTTP/1.1..." is answered with body N; swapped,
					// each pair of requests is answered the other way round.
					path := strings.Fields(req)[1]
					pending = append(pending, path[1:])
					if swap && len(pending) == 1 {
						return nil, false
					}
					var out []byte
					for i := len(pending) - 1; i >= 0; i-- {
						if !swap {
							i = 0
						}
						out = fmt.Appendf(out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(pending[i]), pending[i])
						if !swap {
							break
						}
					}
					pending = pending[:0]
					return out, false
				})
			})
			res := mustRun(t, Config{URL: "http://" + addr + "/", Paths: []string{"/1", "/22", "/333", "/4444"},
				ExpectBodies: []string{"1", "22", "333", "4444"}, Connections: 2, Pipeline: 4, Count: 400})
			want := uint64(0)
			if swap {
				want = res.Received
			}
			if res.Received != 400 || res.Errors.Body != want || res.Errors.Total() != want {
				t.Fatalf("received %d errors %+v; want %d body errors", res.Received, res.Errors, want)
			}
		})
	}
}

// TestTruncated: a server that closes inside a response, as against one that
// closes between responses, is told apart: the lost requests are read
// errors either way, and only the cut response counts as truncated.
func TestTruncated(t *testing.T) {
	const whole = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"
	for _, cut := range []bool{false, true} {
		t.Run(fmt.Sprintf("cut=%v", cut), func(t *testing.T) {
			addr := tinyServer(t, func(c net.Conn) {
				serveRequests(c, func(i int) ([]byte, bool) {
					if i < 2 {
						return []byte(whole), false
					}
					if cut {
						return []byte(whole[:len(whole)-4]), true // the third response, cut short
					}
					return nil, true // close after the second
				})
			})
			res := mustRun(t, Config{URL: "http://" + addr + "/", Connections: 1, Pipeline: 4, Duration: 300 * time.Millisecond})
			if res.Received == 0 || res.Errors.Read == 0 || res.Errors.Read != res.Lost {
				t.Fatalf("received %d lost %d errors %+v", res.Received, res.Lost, res.Errors)
			}
			// Each connection loses two of its batch of four; cut, one of
			// the two was begun.
			if cut && (res.Truncated == 0 || 2*res.Truncated != res.Lost) || !cut && res.Truncated != 0 {
				t.Fatalf("received %d lost %d truncated %d", res.Received, res.Lost, res.Truncated)
			}
			if cut != strings.Contains(text(t, res, false), "Truncated: ") {
				t.Fatalf("the text does not say so:\n%s", text(t, res, false))
			}
		})
	}
}

// TestConnectionClose: requests that ask the server to close: a batch ends
// at such a request, so nothing is lost, and every connection is reopened.
func TestConnectionClose(t *testing.T) {
	core := startCore(t, "epoll")
	res := mustRun(t, Config{URL: "http://" + core.Addr().String() + "/plaintext", Connections: 8, Pipeline: 8,
		Headers: []Header{{"Connection", "close"}}, Duration: 500 * time.Millisecond})
	if res.Received < 50 || res.Errors.Total() != 0 || res.Reconnects < res.Received-res.InFlight-8 {
		t.Fatalf("received %d, errors %+v, reconnects %d", res.Received, res.Errors, res.Reconnects)
	}
}

// TestRequestsPerConn: connection churn. Each connection sends its three
// requests (a pipeline deeper than that sends only three), closes once they
// are answered, and another takes its place; nothing is lost, and the
// server accepts a connection per three requests.
func TestRequestsPerConn(t *testing.T) {
	for _, rate := range []float64{0, 3000} {
		t.Run(fmt.Sprintf("rate=%v", rate), func(t *testing.T) {
			core := startCore(t, "epoll", "loops=1")
			res := mustRun(t, Config{URL: "http://" + core.Addr().String() + "/plaintext", Connections: 8, Pipeline: 4,
				RequestsPerConn: 3, Rate: rate, Duration: 500 * time.Millisecond, ExpectBody: []byte("Hello, World!")})
			if res.Received < 60 || res.Errors.Total() != 0 || res.ChurnCloses == 0 {
				t.Fatalf("received %d, errors %+v, churn %d", res.Received, res.Errors, res.ChurnCloses)
			}
			// Every connection closed by churn had answered exactly three.
			if lo, hi := res.ChurnCloses*3, res.Received+8*3; lo > res.Received || res.Received > hi {
				t.Fatalf("received %d for %d churned connections of three requests", res.Received, res.ChurnCloses)
			}
			if res.Reconnects < res.ChurnCloses-8 {
				t.Fatalf("%d churned, %d reopened", res.ChurnCloses, res.Reconnects)
			}
			if acc := core.Stats().Get(models.Accepted); acc < res.ChurnCloses {
				t.Fatalf("the server accepted %d connections for %d churned", acc, res.ChurnCloses)
			}
		})
	}
	if _, err := Run(context.Background(), Config{URL: "http://127.0.0.1:1/", RequestsPerConn: -1}); err == nil ||
		!strings.Contains(err.Error(), "RequestsPerConn") {
		t.Fatalf("a negative RequestsPerConn: %v", err)
	}
}

// TestServerCloses: a server that closes after three responses, to clients
// pipelining four: the fourth of every batch is lost, counted as a read
// error, and the connection reopened; the run ends on time.
func TestServerCloses(t *testing.T) {
	for _, say := range []bool{false, true} {
		t.Run(fmt.Sprintf("says-close=%v", say), func(t *testing.T) {
			addr := tinyServer(t, func(c net.Conn) {
				serveRequests(c, func(i int) ([]byte, bool) {
					if i == 2 {
						if say {
							return []byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), true
						}
						return []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), true
					}
					return []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), false
				})
			})
			began := time.Now()
			res := mustRun(t, Config{URL: "http://" + addr + "/", Connections: 4, Pipeline: 4, Duration: 500 * time.Millisecond})
			if took := time.Since(began); took > 3*time.Second {
				t.Fatalf("took %v", took)
			}
			if res.Received == 0 || res.Errors.Read == 0 || res.Errors.Read != res.Lost || res.Reconnects == 0 {
				t.Fatalf("received %d lost %d errors %+v reconnects %d\n%s", res.Received, res.Lost, res.Errors, res.Reconnects, text(t, res, false))
			}
			// Three of every four answered: the losses are a quarter.
			if res.Lost*3 > res.Received+12 || res.Lost*3+12 < res.Received {
				t.Fatalf("received %d, lost %d: want 3 to 1", res.Received, res.Lost)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	addr := tinyServer(t, func(c net.Conn) {
		b := make([]byte, 4096)
		for {
			if _, err := c.Read(b); err != nil {
				return
			}
		}
	})
	res := mustRun(t, Config{URL: "http://" + addr + "/", Connections: 4, Pipeline: 2, Timeout: 100 * time.Millisecond,
		Duration: 650 * time.Millisecond})
	if res.Received != 0 || res.Errors.Timeout == 0 || res.Errors.Timeout != res.Lost || res.Reconnects == 0 {
		t.Fatalf("received %d lost %d errors %+v reconnects %d", res.Received, res.Lost, res.Errors, res.Reconnects)
	}
	// Open loop: requests that cannot even be sent expire.
	res = mustRun(t, Config{URL: "http://" + addr + "/", Connections: 2, Rate: 200, Timeout: 100 * time.Millisecond,
		Duration: 650 * time.Millisecond})
	if res.Expired == 0 || res.Errors.Timeout != res.Lost+res.Expired {
		t.Fatalf("open loop: lost %d expired %d errors %+v", res.Lost, res.Expired, res.Errors)
	}
}

// TestRotationChunkedHead rotates a GET answered chunked and a HEAD whose
// response has a Content-Length but no body.
func TestRotationChunkedHead(t *testing.T) {
	var gets, heads atomic.Int64
	addr := tinyServer(t, func(c net.Conn) {
		serveRequestsRaw(c, func(req string) ([]byte, bool) {
			if strings.HasPrefix(req, "HEAD ") {
				heads.Add(1)
				return []byte("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"), false
			}
			gets.Add(1)
			return []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nT: t\r\n\r\n"), false
		})
	})
	res := mustRun(t, Config{URL: "http://" + addr, Paths: []string{"/a", "HEAD /b"}, Connections: 3, Pipeline: 5, Count: 600, ExpectStatus: 200})
	if res.Received != 600 || res.Errors.Total() != 0 || gets.Load() != 300 || heads.Load() != 300 {
		t.Fatalf("received %d errors %+v; server saw %d GET, %d HEAD", res.Received, res.Errors, gets.Load(), heads.Load())
	}
	res = mustRun(t, Config{URL: "http://" + addr + "/a", Connections: 2, Pipeline: 3, Count: 90, ExpectBody: []byte("hello world")})
	if res.Received != 90 || res.Errors.Total() != 0 {
		t.Fatalf("chunked body: received %d errors %+v", res.Received, res.Errors)
	}
}

func TestWarmupAndInterrupt(t *testing.T) {
	core := startCore(t, "epoll")
	url := "http://" + core.Addr().String() + "/plaintext"
	res := mustRun(t, Config{URL: url, Connections: 4, Warmup: 300 * time.Millisecond, Duration: 300 * time.Millisecond})
	if got := served(core); got <= res.Sent || res.WarmupSeconds != 0.3 || res.Seconds < 0.29 || res.Seconds > 0.35 {
		t.Fatalf("server %d, sent %d, warm-up %v, window %v", got, res.Sent, res.WarmupSeconds, res.Seconds)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	res, err := Run(ctx, Config{URL: url, Connections: 4, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	checkBalance(t, res)
	if took := time.Since(began); took > 2*time.Second || !res.Interrupted || res.Received == 0 || res.Seconds > 1 {
		t.Fatalf("took %v, interrupted %v, received %d, window %v", took, res.Interrupted, res.Received, res.Seconds)
	}
}

func TestRunErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, err = Run(context.Background(), Config{URL: "http://" + closed + "/", Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "cannot connect to "+closed) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("closed port: %v", err)
	}
	_, err = Run(context.Background(), Config{URL: "http://" + closed + "/", SourceAddrs: mustAddrs(t, "192.0.2.1")})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "SourceAddrs" {
		t.Fatalf("foreign source address: %v", err)
	}
	_, err = Run(context.Background(), Config{URL: "https://127.0.0.1/"})
	if !errors.As(err, &ce) || ce.Field != "URL" {
		t.Fatalf("https: %v", err)
	}
}

// --- tiny servers ---------------------------------------------------------------

// tinyServer serves each connection with handle, on 127.0.0.1, until the
// test ends.
func tinyServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// serveRequests answers bodiless requests in order; respond gets the
// request's index on the connection and says what to answer and whether to
// close after it.
func serveRequests(c net.Conn, respond func(i int) ([]byte, bool)) {
	i := 0
	serveRequestsRaw(c, func(string) ([]byte, bool) {
		b, closing := respond(i)
		i++
		return b, closing
	})
}

func serveRequestsRaw(c net.Conn, respond func(req string) ([]byte, bool)) {
	var in []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		in = append(in, buf[:n]...)
		var out []byte
		for {
			end := bytes.Index(in, []byte("\r\n\r\n"))
			if end < 0 {
				break
			}
			resp, closing := respond(string(in[:end+4]))
			in = in[end+4:]
			out = append(out, resp...)
			if closing {
				c.Write(out)
				return
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// TestLargeAndCloseDelimited: responses larger than the shared read buffer
// accumulate in their connection's own buffer, whole and in order; one over
// MaxResponse is a parse error; a body delimited by the close completes at
// the end of the connection.
func TestLargeAndCloseDelimited(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 200_000/16) // three times the read buffer
	chunked := fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", len(body)/2, body[:len(body)/2], len(body)-len(body)/2, body[len(body)/2:])
	addr := tinyServer(t, func(c net.Conn) {
		serveRequestsRaw(c, func(req string) ([]byte, bool) {
			switch {
			case strings.HasPrefix(req, "GET /chunked "):
				return []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked), false
			case strings.HasPrefix(req, "GET /eof "):
				return []byte("HTTP/1.1 200 OK\r\n\r\nto the end"), true
			}
			return append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))), body...), false
		})
	})
	for _, path := range []string{"/length", "/chunked"} {
		res := mustRun(t, Config{URL: "http://" + addr + path, Connections: 3, Pipeline: 3, Count: 60, ExpectBody: body})
		if res.Received != 60 || res.Errors.Total() != 0 || res.Bytes < 60*uint64(len(body)) {
			t.Fatalf("%s: received %d, errors %+v, %d bytes", path, res.Received, res.Errors, res.Bytes)
		}
	}
	res := mustRun(t, Config{URL: "http://" + addr + "/length", Connections: 2, MaxResponse: 64 << 10, Duration: 300 * time.Millisecond})
	if res.Received != 0 || res.Errors.Parse == 0 || res.Errors.Parse != res.Lost {
		t.Fatalf("over MaxResponse: received %d, lost %d, errors %+v", res.Received, res.Lost, res.Errors)
	}
	res = mustRun(t, Config{URL: "http://" + addr + "/eof", Connections: 2, Count: 40, ExpectBody: []byte("to the end")})
	if res.Received != 40 || res.Errors.Total() != 0 || res.Reconnects < 38 {
		t.Fatalf("close-delimited: received %d, errors %+v, reconnects %d", res.Received, res.Errors, res.Reconnects)
	}
}

// TestCountModes: a count below the number of connections, a count in open
// loop, and a count bounded by a duration.
func TestCountModes(t *testing.T) {
	core := startCore(t, "epoll")
	url := "http://" + core.Addr().String() + "/plaintext"
	res := mustRun(t, Config{URL: url, Connections: 10, Pipeline: 4, Count: 7})
	if res.Received != 7 || res.Sent != 7 {
		t.Fatalf("count below connections: %d sent, %d received", res.Sent, res.Received)
	}
	res = mustRun(t, Config{URL: url, Connections: 5, Rate: 5000, Count: 1001})
	if res.Received != 1001 || res.Issued != 1001 || res.Seconds < 0.15 || res.Seconds > 0.5 {
		t.Fatalf("open-loop count: issued %d, received %d in %vs", res.Issued, res.Received, res.Seconds)
	}
	res = mustRun(t, Config{URL: url, Connections: 2, Rate: 100, Count: 1_000_000, Duration: 300 * time.Millisecond})
	if res.Received < 25 || res.Received > 35 || res.Seconds != 0.3 {
		t.Fatalf("count bounded by duration: received %d in %vs", res.Received, res.Seconds)
	}
}

// TestOnWindow: the caller hears of the measured window's edges, on time,
// begin before end, each once; a run stopped during its warm-up reports
// neither.
func TestOnWindow(t *testing.T) {
	core := startCore(t, "epoll")
	url := "http://" + core.Addr().String() + "/plaintext"
	type edge struct {
		begin bool
		at    time.Time
	}
	var edges []edge
	record := func(begin bool) { edges = append(edges, edge{begin, time.Now()}) }
	var logged []string
	res := mustRun(t, Config{URL: url, Connections: 4, Warmup: 200 * time.Millisecond, Duration: 300 * time.Millisecond,
		OnWindow: record, Log: func(m string) { logged = append(logged, m) }})
	if len(edges) != 2 || !edges[0].begin || edges[1].begin {
		t.Fatalf("edges %+v", edges)
	}
	if d := edges[1].at.Sub(edges[0].at); d < 250*time.Millisecond || d > 350*time.Millisecond { // timers wake late on a busy machine
		t.Fatalf("window reported as %v long, measured %vs", d, res.Seconds)
	}
	if len(logged) != 2 || !strings.Contains(logged[1], "after a 200ms warm-up") {
		t.Fatalf("log %q", logged)
	}

	edges = nil
	mustRun(t, Config{URL: url, Connections: 4, Count: 2000, OnWindow: record})
	if len(edges) != 2 || !edges[0].begin || edges[1].begin {
		t.Fatalf("count mode: edges %+v", edges)
	}

	edges = nil
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, Config{URL: url, Connections: 4, Warmup: time.Minute, OnWindow: record})
	if err != nil || len(edges) != 0 || !res.Interrupted || res.Requests != 0 || !strings.Contains(strings.Join(res.Notes, ";"), "before the measured window") {
		t.Fatalf("interrupted in warm-up: %v, edges %+v, %+v", err, edges, res)
	}
}

// TestStallGuard: a count that can never be reached (the server has gone:
// every reconnect is refused) does not hang; the run stops after twice the
// timeout without progress (2s at least) and says why.
func TestStallGuard(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	gone := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serveRequests(c, func(int) ([]byte, bool) {
				if served.Add(1) == 50 {
					once.Do(func() { close(gone) })
				}
				return []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), false
			})
		}
	}()
	go func() {
		<-gone
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	began := time.Now()
	res := mustRun(t, Config{URL: "http://" + ln.Addr().String() + "/", Connections: 2, Count: 1_000_000, Timeout: 100 * time.Millisecond})
	if took := time.Since(began); took > 4*time.Second {
		t.Fatalf("took %v", took)
	}
	if res.Received < 50 || res.Received > 1000 || res.Errors.Connect == 0 ||
		!strings.Contains(strings.Join(res.Notes, ";"), "stopped: no request answered, lost or expired") {
		t.Fatalf("received %d, errors %+v, notes %q", res.Received, res.Errors, res.Notes)
	}
}
