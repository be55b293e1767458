package models

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"iolab/models/app"
	"iolab/models/http1"
)

// resumer records Resumes on a channel, as a loop's inbox would.
type resumer chan uint64

func (r resumer) Resume(token uint64) { r <- token }

// offloaded is a Session over h with handler=offload, bound to a resumer.
func offloaded(t *testing.T, h app.Handler, knobs ...string) (*Session, *Counters, resumer) {
	t.Helper()
	cfg, err := NewConfig(Model{Name: "test"}, app.App{Name: "t", Handler: h}, append([]string{"handler=offload"}, knobs...))
	if err != nil {
		t.Fatal(err)
	}
	var c Counters
	var s Session
	s.Init(&cfg, &c)
	r := make(resumer, 64)
	s.Bind(r, 42)
	return &s, &c, r
}

// drive plays the core: Serve, then after each Resume Serve again with
// the input kept, until the Session has nothing in flight and every byte
// of in is used or closing. It returns the output.
func drive(t *testing.T, s *Session, r resumer, in []byte) (out []byte, closing bool) {
	t.Helper()
	for {
		used, o, c := s.Serve(in, out)
		out, in, closing = o, in[used:], c
		if closing || !s.InFlight() && len(in) == 0 {
			return out, closing
		}
		if !s.InFlight() {
			return out, false // an incomplete request waits for more input
		}
		select {
		case tok := <-r:
			if tok != 42 {
				t.Fatalf("resumed with token %d", tok)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no Resume")
		}
	}
}

// Offloaded, pipelined requests are answered in order, one at a time, and
// a request in flight holds the ones behind it.
func TestOffloadPipelining(t *testing.T) {
	var mu sync.Mutex
	running, most := 0, 0
	h := app.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		w.Write(200, "text/plain", r.Body)
	})
	s, c, r := offloaded(t, h)
	batch := post("a") + post("bb") + post("ccc") + "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
	in := []byte(batch + post("never"))
	used, out, closing := s.Serve(in, nil)
	// The pipelined requests go as one batch, up to the one that closes.
	if !s.InFlight() || !s.Working() || closing || used != len(batch) || len(out) != 0 {
		t.Fatalf("first Serve: used %d of %d, out %q, in flight %v", used, len(batch), out, s.InFlight())
	}
	out, closing = drive(t, s, r, in[used:])
	if got := strings.Join(responses(t, out), "|"); got != "200 a|200 bb|200 ccc|200  [close]" || !closing {
		t.Fatalf("responses %s, closing %v", got, closing)
	}
	if most != 1 || c[Requests] != 4 || c[Status2xx] != 4 {
		t.Fatalf("at most %d at once; requests %d, 2xx %d", most, c[Requests], c[Status2xx])
	}
}

// What a batch cannot take waits behind it, in order: a CONNECT (answered
// on the loop), a rejected request, a request still arriving.
func TestOffloadBatchEdges(t *testing.T) {
	h := app.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) { w.Write(200, "text/plain", r.Body) })
	for _, c := range []struct {
		in, want string
		closing  bool
	}{
		{post("a") + "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n" + post("b"), "200 a|501 CONNECT is not supported\n [close]", true},
		{post("a") + post("b") + "GET / HTTP/1.1\r\nHost: t\r\nX : y\r\n\r\n" + post("c"),
			"200 a|200 b|400 whitespace between field name and colon\n [close]", true},
		{post("a") + post("bb") + "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\ncc", "200 a|200 bb", false},
	} {
		s, _, r := offloaded(t, h)
		out, closing := drive(t, s, r, []byte(c.in))
		if got := strings.Join(responses(t, out), "|"); got != c.want || closing != c.closing {
			t.Errorf("%q:\ngot  %s (closing %v)\nwant %s", c.in, got, closing, c.want)
		}
	}
}

// A handler that blocks does not block Serve, and the pool runs handlers
// of different connections at once.
func TestOffloadDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	h := app.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		if string(r.Path) == "/block" {
			<-release
		}
		w.WriteString(200, "text/plain", string(r.Path))
	})
	blocked, _, _ := offloaded(t, h)
	blocked.Serve([]byte("GET /block HTTP/1.1\r\nHost: t\r\n\r\n"), nil)
	other, _, r := offloaded(t, h)
	start := time.Now()
	out, _ := drive(t, other, r, []byte("GET /free HTTP/1.1\r\nHost: t\r\n\r\n"))
	if got := strings.Join(responses(t, out), "|"); got != "200 /free" || time.Since(start) > 2*time.Second {
		t.Fatalf("%s after %v", got, time.Since(start))
	}
	close(release)
}

// A handler that reads its body as it arrives (app.BodyReader) starts at
// the head, and the body comes through a bounded pipe: the Session holds
// what does not fit, and the core stops reading.
type reader struct{ n chan int64 }

func (reader) ReadsBodyStream() bool { return true }

func (h reader) Serve(w *http1.ResponseWriter, r *http1.Request) {
	n, err := io.Copy(io.Discard, r.BodyStream)
	if err != nil {
		w.WriteString(400, "text/plain", err.Error())
		return
	}
	h.n <- n
	w.WriteString(200, "text/plain", "ok")
}

func TestOffloadStreamsBody(t *testing.T) {
	h := reader{n: make(chan int64, 1)}
	s, c, r := offloaded(t, h)
	const size = 1 << 20
	in := []byte("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n" + strings.Repeat("z", 1000))
	used, _, _ := s.Serve(in, nil)
	if !s.InFlight() || s.Working() || used != len(in) {
		t.Fatalf("the head did not start the handler: used %d of %d", used, len(in))
	}
	// The rest arrives in 64 KiB reads; the core keeps what is not used.
	rest := bytes.Repeat([]byte("z"), size-1000)
	// The handler may finish while the last bytes are still being fed, so
	// every Serve's output is kept, not only the final drive's.
	var buf, out []byte
	held := false
	for len(rest) > 0 || len(buf) > 0 {
		k := min(64<<10, len(rest))
		buf, rest = append(buf, rest[:k]...), rest[k:]
		used, out, _ = s.Serve(buf, out)
		buf = buf[:copy(buf, buf[used:])]
		if s.Holding() {
			held = true
			select {
			case <-r: // the handler read: room again
			case <-time.After(5 * time.Second):
				t.Fatal("no Resume after the handler read")
			}
		}
	}
	if got := <-h.n; got != size {
		t.Fatalf("the handler read %d bytes of %d", got, size)
	}
	tail, _ := drive(t, s, r, nil)
	out = append(out, tail...)
	if got := strings.Join(responses(t, out), "|"); got != "200 ok" || c[Requests] != 1 {
		t.Fatalf("%s, requests %d", got, c[Requests])
	}
	if !held {
		t.Log("the handler kept up: the Session never held (not an error)")
	}
}

// A streamed body over max_body fails the handler's reads with the
// parser's error, and the connection closes after the handler's answer.
func TestOffloadStreamedBodyTooLarge(t *testing.T) {
	h := reader{n: make(chan int64, 1)}
	s, c, r := offloaded(t, h, "max_body=100")
	in := []byte("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + strings.Repeat("a", 64) + "\r\n")
	s.Serve(in, nil)
	out, closing := drive(t, s, r, []byte("40\r\n"+strings.Repeat("b", 64)+"\r\n0\r\n\r\n"))
	if got := strings.Join(responses(t, out), "|"); got != "400 http1: body too large [close]" || !closing {
		t.Fatalf("%s, closing %v", got, closing)
	}
	if c[ParseError(http1.KindBodyTooLarge)] != 1 {
		t.Fatal("the rejection was not counted")
	}
}

// Flushed output reaches the core while the handler still runs, and a
// closed connection fails the handler's next flush instead of hanging it.
func TestOffloadFlushAndAbort(t *testing.T) {
	step := make(chan struct{})
	finished := make(chan struct{})
	h := app.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		defer close(finished)
		w.WriteHeader(200, "text/plain", -1)
		w.WriteBody([]byte("first"))
		w.Flush()
		<-step
		for range 3 {
			w.WriteBody([]byte("more"))
			w.Flush()
		}
	})
	s, _, r := offloaded(t, h)
	// The flush may already reach the Serve that starts the handler.
	_, out, _ := s.Serve([]byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), nil)
	<-r
	_, out, _ = s.Serve(nil, out)
	if !bytes.Contains(out, []byte("5\r\nfirst\r\n")) || !s.InFlight() {
		t.Fatalf("flushed output: %q", out)
	}
	s.Abort() // the connection closed
	close(step)
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler hung on a flush after the connection closed")
	}
}

// Drain during a request in flight: the response closes the connection.
func TestOffloadDrain(t *testing.T) {
	release := make(chan struct{})
	h := app.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		<-release
		w.WriteString(200, "text/plain", "done")
	})
	s, _, r := offloaded(t, h)
	s.Serve([]byte("GET / HTTP/1.1\r\nHost: t\r\n\r\n"), nil)
	s.Drain()
	close(release)
	out, closing := drive(t, s, r, nil)
	if got := strings.Join(responses(t, out), "|"); !closing || !strings.HasPrefix(got, "200 done") {
		t.Fatalf("%s closing %v", got, closing)
	}
}

// An unbound Session (a core without the hook) answers inline.
func TestOffloadUnboundIsInline(t *testing.T) {
	cfg, _ := NewConfig(Model{Name: "test"}, appEcho(t), []string{"handler=offload"})
	var c Counters
	var s Session
	s.Init(&cfg, &c)
	_, out, _ := s.Serve([]byte(post("x")), nil)
	if got := strings.Join(responses(t, out), "|"); got != "200 x" || s.InFlight() {
		t.Fatalf("%s", got)
	}
}

// Streaming to an application on the core's thread: the pieces arrive in
// order, the buffer never holds the body, and Serve sees its size.
type pieces struct{ got bytes.Buffer }

func (p *pieces) StreamBody(r *http1.Request) bool { return string(r.Path) == "/up" }
func (p *pieces) BodyPiece(r *http1.Request, b []byte) {
	p.got.Write(b)
}
func (p *pieces) Serve(w *http1.ResponseWriter, r *http1.Request) {
	w.WriteString(200, "text/plain", strconv.FormatInt(r.BodySize, 10))
}

func TestSessionStreamsToApp(t *testing.T) {
	p := &pieces{}
	s, _ := newSession(t, p)
	body := strings.Repeat("0123456789", 3000)
	in := "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"7530\r\n" + body + "\r\n0\r\n\r\n" + post("x")
	var buf, out []byte
	for i := 0; i < len(in); i += 1000 {
		buf = append(buf, in[i:min(i+1000, len(in))]...)
		var used int
		used, out, _ = s.Serve(buf, out)
		buf = buf[:copy(buf, buf[used:])]
		if len(buf) > 2000 {
			t.Fatalf("the buffer holds %d bytes of a streamed body", len(buf))
		}
	}
	if p.got.String() != body {
		t.Fatalf("pieces: %d bytes, want %d", p.got.Len(), len(body))
	}
	if got := strings.Join(responses(t, out), "|"); got != "200 30000|200 1" {
		t.Fatalf("%s", got)
	}
}
