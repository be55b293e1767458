package stdhttp

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"iolab/models"
	"iolab/models/app"
)

// session is a models.Session over a, with the given knobs; with
// handler=offload it is bound to a channel of Resumes.
func session(t testing.TB, a app.App, knobs ...string) (*models.Session, resumer) {
	t.Helper()
	cfg, err := models.NewConfig(models.Model{Name: "test"}, a, knobs)
	if err != nil {
		t.Fatal(err)
	}
	var c models.Counters
	s := new(models.Session)
	s.Init(&cfg, &c)
	r := make(resumer, 64)
	s.Bind(r, 1)
	return s, r
}

type resumer chan uint64

func (r resumer) Resume(token uint64) { r <- token }

// exchange feeds in to s, as a core would (Serving again after each
// Resume), and returns the responses read back by net/http.
func exchange(t testing.TB, s *models.Session, r resumer, in string, method string) []*http.Response {
	t.Helper()
	buf := []byte(in)
	var out []byte
	for {
		used, o, closing := s.Serve(buf, out)
		out, buf = o, buf[used:]
		if closing || !s.InFlight() {
			break
		}
		select {
		case <-r:
		case <-time.After(5 * time.Second):
			t.Fatal("no Resume")
		}
	}
	var res []*http.Response
	br := bufio.NewReader(bytes.NewReader(out))
	for {
		if _, err := br.Peek(1); err != nil {
			return res
		}
		rs, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		body, err := io.ReadAll(rs.Body)
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		rs.Body = io.NopCloser(bytes.NewReader(body))
		res = append(res, rs)
	}
}

func bodyOf(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// The net/http form of bench answers what the native one does, through
// the adapter, in both modes.
func TestAdaptedBenchMatchesNative(t *testing.T) {
	reqs := []string{
		"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
		"GET /json HTTP/1.1\r\nHost: t\r\n\r\n",
		"GET /baseline?a=1&b=2 HTTP/1.1\r\nHost: t\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET /plaintext HTTP/1.0\r\n\r\n",
	}
	native, _ := app.Lookup("bench")
	adapted, err := app.Lookup(Prefix + "bench")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"inline", "offload"} {
		for _, raw := range reqs {
			ns, nr := session(t, native, "handler="+mode)
			as, ar := session(t, adapted, "handler="+mode)
			want := exchange(t, ns, nr, raw, "GET")[0]
			got := exchange(t, as, ar, raw, "GET")[0]
			wb, gb := bodyOf(want), bodyOf(got)
			if got.StatusCode != want.StatusCode || gb != wb || got.Header.Get("Content-Type") != want.Header.Get("Content-Type") ||
				got.ContentLength != want.ContentLength || got.Close != want.Close || got.Header.Get("Server") != "iolab" {
				t.Errorf("%s %.30q:\nadapted %d %q %q len %d close %v %v\nnative  %d %q %q len %d close %v", mode, raw,
					got.StatusCode, got.Header.Get("Content-Type"), gb, got.ContentLength, got.Close, got.Header,
					want.StatusCode, want.Header.Get("Content-Type"), wb, want.ContentLength, want.Close)
			}
		}
	}
}

// The *http.Request a handler gets says what the request said.
func TestRequestConversion(t *testing.T) {
	var got *http.Request
	var body string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	})
	s, r := session(t, app.App{Name: "t", Handler: New(h)})
	exchange(t, s, r, "PUT /a%20b/c?x=1&y=%2F HTTP/1.1\r\nHost: example.com:8080\r\nx-custom: one\r\n"+
		"X-Custom: two\r\naccept: */*\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "PUT")
	switch {
	case got.Method != "PUT", got.RequestURI != "/a%20b/c?x=1&y=%2F", got.URL.Path != "/a b/c", got.URL.RawQuery != "x=1&y=%2F",
		got.URL.Query().Get("y") != "/", got.Host != "example.com:8080", got.Proto != "HTTP/1.1", !got.Close:
		t.Fatalf("request line or host: %+v %+v", got, got.URL)
	case strings.Join(got.Header.Values("X-Custom"), ",") != "one,two", got.Header.Get("Accept") != "*/*", got.Header.Get("Host") != "":
		t.Fatalf("header %v", got.Header)
	case got.ContentLength != -1 || len(got.TransferEncoding) != 1 || body != "abc":
		t.Fatalf("body: length %d, TE %v, %q", got.ContentLength, got.TransferEncoding, body)
	}
	s, r = session(t, app.App{Name: "t", Handler: New(h)})
	exchange(t, s, r, "GET /x HTTP/1.0\r\n\r\n", "GET")
	if got.Proto != "HTTP/1.0" || got.ProtoMinor != 0 || !got.Close || got.ContentLength != 0 || got.Body != http.NoBody {
		t.Fatalf("http/1.0: %+v", got)
	}
}

func TestResponses(t *testing.T) {
	big := strings.Repeat("b", 3*bufferMax)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sniff":
			w.Write([]byte("<html><body>hi</body></html>"))
		case "/headers":
			w.Header().Set("X-A", "1")
			w.Header().Add("X-A", "2")
			w.Header().Set("Server", "not this one")
			w.Header().Set("Content-Type", "text/x")
			w.WriteHeader(201)
			io.WriteString(w, "made")
		case "/big":
			io.WriteString(w, big)
		case "/length":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "0123456789")
		case "/short":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "0123")
		case "/flush":
			io.WriteString(w, "one")
			w.(http.Flusher).Flush()
			http.NewResponseController(w).Flush()
			io.WriteString(w, "two")
		case "/empty":
			w.WriteHeader(204)
		case "/close":
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		case "/hijack":
			_, _, err := w.(http.Hijacker).Hijack()
			http.Error(w, err.Error(), 501)
		case "/nothing":
		}
	})
	s, r := session(t, app.App{Name: "t", Handler: New(h)})
	get := func(path, method string) *http.Response {
		return exchange(t, s, r, method+" "+path+" HTTP/1.1\r\nHost: t\r\n\r\n", method)[0]
	}
	cases := []struct {
		path, method, status, ctype, body string
		length                            int64
		chunked, close                    bool
	}{
		{"/sniff", "GET", "200", "text/html; charset=utf-8", "<html><body>hi</body></html>", 28, false, false},
		{"/headers", "GET", "201", "text/x", "made", 4, false, false},
		{"/big", "GET", "200", "text/plain; charset=utf-8", big, -1, true, false},
		{"/length", "GET", "200", "text/plain; charset=utf-8", "0123456789", 10, false, false},
		{"/length", "HEAD", "200", "text/plain; charset=utf-8", "", 10, false, false},
		{"/flush", "GET", "200", "text/plain; charset=utf-8", "onetwo", -1, true, false},
		{"/empty", "GET", "204", "", "", 0, false, false},
		{"/close", "GET", "200", "text/plain; charset=utf-8", "bye", 3, false, true},
		{"/hijack", "GET", "501", "text/plain; charset=utf-8", ErrHijack.Error() + "\n", -2, false, false},
		{"/nothing", "GET", "200", "", "", 0, false, false},
	}
	for _, c := range cases {
		s.Init(&models.Config{App: New(h)}, new(models.Counters)) // a fresh connection each: /close closes
		s.Bind(r, 1)
		res := get(c.path, c.method)
		b := bodyOf(res)
		if res.Status[:3] != c.status || res.Header.Get("Content-Type") != c.ctype || b != c.body ||
			c.length != -2 && res.ContentLength != c.length || (res.TransferEncoding != nil) != c.chunked || res.Close != c.close {
			t.Errorf("%s %s: %s %q %.40q length %d TE %v close %v", c.method, c.path, res.Status, res.Header.Get("Content-Type"),
				b, res.ContentLength, res.TransferEncoding, res.Close)
		}
		if c.path == "/headers" && (strings.Join(res.Header.Values("X-A"), ",") != "1,2" || res.Header.Get("Server") != "iolab") {
			t.Errorf("headers: %v", res.Header)
		}
	}
	s.Init(&models.Config{App: New(h)}, new(models.Counters))
	raw := "GET /short HTTP/1.1\r\nHost: t\r\n\r\n"
	used, out, closing := s.Serve([]byte(raw), nil)
	if used != len(raw) || !closing || !bytes.HasSuffix(out, []byte("\r\n\r\n0123")) {
		t.Fatalf("a body short of its Content-Length must close the connection: %v %q", closing, out)
	}
}

// A handler that panics gets a 500, closing, and a log line; one that has
// begun its response has its connection closed.
func TestPanic(t *testing.T) {
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(io.Discard)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "partial")
		}
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		panic("boom")
	})
	s, r := session(t, app.App{Name: "t", Handler: New(h)}, "handler=offload")
	res := exchange(t, s, r, "GET /early HTTP/1.1\r\nHost: t\r\n\r\n", "GET")
	if len(res) != 1 || res[0].StatusCode != 500 || !res[0].Close || !strings.Contains(logged.String(), "boom") {
		t.Fatalf("%v %q", res, logged.String())
	}
	s, r = session(t, app.App{Name: "t", Handler: New(h)})
	used, out, closing := s.Serve([]byte("GET /late HTTP/1.1\r\nHost: t\r\n\r\n"), nil)
	if !closing || used == 0 || !bytes.HasSuffix(out, []byte("partial")) {
		t.Fatalf("late panic: closing %v %q", closing, out)
	}
	logged.Reset()
	s, r = session(t, app.App{Name: "t", Handler: New(h)})
	if res := exchange(t, s, r, "GET /abort HTTP/1.1\r\nHost: t\r\n\r\n", "GET"); res[0].StatusCode != 500 || logged.Len() != 0 {
		t.Fatalf("ErrAbortHandler: %d, logged %q", res[0].StatusCode, logged.String())
	}
}

// Offloaded, the net/http upload reads a large body as it arrives, and a
// body over max_body reads as an *http.MaxBytesError.
func TestStreamedUpload(t *testing.T) {
	a, _ := app.Lookup(Prefix + "bench")
	s, r := session(t, a, "handler=offload", "max_body=32MiB")
	const size = 20 << 20
	head := "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 20971520\r\n\r\n"
	used, _, _ := s.Serve([]byte(head), nil)
	if used != len(head) || !s.InFlight() {
		t.Fatalf("the head did not start the handler (used %d)", used)
	}
	piece := bytes.Repeat([]byte("u"), 64<<10)
	var buf, out []byte
	for sent := 0; ; {
		if sent < size && !s.Holding() {
			buf = append(buf, piece...)
			sent += len(piece)
		}
		n, o, _ := s.Serve(buf, out)
		out, buf = o, buf[:copy(buf, buf[n:])]
		if len(buf) > 256<<10 {
			t.Fatalf("%d bytes held", len(buf))
		}
		if !s.InFlight() {
			break
		}
		if s.Holding() || sent == size {
			select {
			case <-r:
			case <-time.After(5 * time.Second):
				t.Fatal("no Resume")
			}
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil || res.StatusCode != 200 || bodyOf(res) != "20971520" {
		t.Fatalf("%v %v", res, err)
	}

	s, r = session(t, a, "handler=offload", "max_body=1000")
	s.Serve([]byte("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"), nil)
	over := exchange(t, s, r, "3e8\r\n"+strings.Repeat("x", 1000)+"\r\n1\r\nx\r\n0\r\n\r\n", "POST")
	if len(over) != 1 || over[0].StatusCode != 413 || !over[0].Close {
		t.Fatalf("over max_body: %d close %v %q", over[0].StatusCode, over[0].Close, bodyOf(over[0]))
	}
}
