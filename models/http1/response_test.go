package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func request(t *testing.T, raw string) *Request {
	t.Helper()
	p := NewParser(Limits{})
	if _, err := p.Parse([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	return p.Request()
}

// readBack parses out with net/http, an independent implementation.
func readBack(t *testing.T, out []byte, method string) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("net/http cannot read %q: %v", out, err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestWriteResponse(t *testing.T) {
	var w ResponseWriter
	w.Begin([]byte("prefix"), request(t, "GET / HTTP/1.1\r\n"+host+"\r\n"), false)
	w.Header("X-A", "1")
	w.Header("X-Bad", "a\r\nInjected: yes")
	w.WriteString(200, "text/plain", "Hello, World!")
	w.WriteString(500, "text/plain", "second write ignored")
	out, status := w.End()
	if status != 200 || !bytes.HasPrefix(out, []byte("prefixHTTP/1.1 200 OK\r\n")) {
		t.Fatalf("status %d, out %q", status, out)
	}
	res, body := readBack(t, out[len("prefix"):], "GET")
	if body != "Hello, World!" || res.ContentLength != 13 || res.Header.Get("Content-Type") != "text/plain" ||
		res.Header.Get("Server") != ServerName || res.Header.Get("X-A") != "1" || res.Header.Get("Injected") != "" || res.Close {
		t.Fatalf("response %+v body %q", res, body)
	}
	if _, err := time.Parse(http.TimeFormat, res.Header.Get("Date")); err != nil {
		t.Fatalf("Date %q: %v", res.Header.Get("Date"), err)
	}
}

func TestWriteResponseNoBody(t *testing.T) {
	cases := []struct {
		req    string
		status int
		cl     string // expected Content-Length header, "" for none
	}{
		{"HEAD / HTTP/1.1\r\n" + host + "\r\n", 200, "5"},
		{"GET / HTTP/1.1\r\n" + host + "\r\n", 204, ""},
		{"GET / HTTP/1.1\r\n" + host + "\r\n", 304, ""},
		{"GET / HTTP/1.1\r\n" + host + "\r\n", 103, ""},
	}
	for _, c := range cases {
		var w ResponseWriter
		w.Begin(nil, request(t, c.req), false)
		w.WriteString(c.status, "text/plain", "hello")
		out, _ := w.End()
		head, rest, ok := bytes.Cut(out, []byte("\r\n\r\n"))
		if !ok || len(rest) != 0 {
			t.Fatalf("%d: body sent: %q", c.status, out)
		}
		cl := ""
		for _, line := range strings.Split(string(head), "\r\n") {
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				cl = v
			}
		}
		if cl != c.cl {
			t.Fatalf("%d: Content-Length %q, want %q", c.status, cl, c.cl)
		}
	}
}

func TestWriteResponseConnection(t *testing.T) {
	cases := []struct {
		req     string
		closing bool
		want    string
	}{
		{"GET / HTTP/1.1\r\n" + host + "\r\n", false, ""},
		{"GET / HTTP/1.1\r\n" + host + "\r\n", true, "close"},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, "keep-alive"},
		{"GET / HTTP/1.0\r\n\r\n", true, "close"},
	}
	for _, c := range cases {
		var w ResponseWriter
		w.Begin(nil, request(t, c.req), c.closing)
		w.WriteString(200, "", "x")
		out, _ := w.End()
		res, _ := readBack(t, out, "GET")
		got := res.Header.Get("Connection")
		if res.Close {
			got = "close" // net/http moves "Connection: close" into Close
		}
		if got != c.want {
			t.Fatalf("%q closing=%v: Connection %q, want %q", c.req, c.closing, got, c.want)
		}
	}
}

func TestAppendError(t *testing.T) {
	for k := ErrorKind(0); k < NumErrorKinds; k++ {
		out := AppendError(nil, k.Err())
		res, body := readBack(t, out, "GET")
		if res.StatusCode != k.Err().Status || !res.Close || body != k.Err().Reason+"\n" {
			t.Fatalf("%s: %+v %q", k.Name(), res, body)
		}
	}
}

func TestStatusText(t *testing.T) {
	for _, code := range []int{100, 200, 201, 204, 304, 400, 404, 405, 408, 411, 417, 431, 500, 501, 503, 505} {
		if got, want := StatusText(code), http.StatusText(code); got != want {
			t.Errorf("%d: %q, want %q", code, got, want)
		}
	}
	// RFC 9110 renamed these; net/http keeps the RFC 7231 names.
	if StatusText(413) != "Content Too Large" || StatusText(414) != "URI Too Long" {
		t.Error("RFC 9110 reason phrases")
	}
	for _, code := range []int{199, 299, 399, 499, 599} {
		if StatusText(code) == "" {
			t.Errorf("%d: empty", code)
		}
	}
}

// TestDateTicks checks that Date changes as the second does, without being
// formatted per call.
func TestDateTicks(t *testing.T) {
	first := string(AppendDate(nil))
	if _, err := time.Parse(http.TimeFormat, first); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if string(AppendDate(nil)) != first {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("Date stayed %q for 3 s", first)
}

// collector is a Carrier that keeps what it is handed.
type collector struct {
	got   []byte
	close bool
}

func (c *collector) Flush(out []byte) []byte {
	c.got = append(c.got, out...)
	return out[:0]
}

func (c *collector) MustClose() bool { return c.close }

func TestWriteBodyInPieces(t *testing.T) {
	get11 := "GET / HTTP/1.1\r\n" + host + "\r\n"
	cases := []struct {
		name   string
		req    string
		n      int64
		pieces []string
		body   string
		chunk  bool
		close  bool
	}{
		{"declared length", get11, 11, []string{"hello", " ", "world"}, "hello world", false, false},
		{"chunked", get11, -1, []string{"hello", "", " world"}, "hello world", true, false},
		{"http/1.0 ends with the close", "GET / HTTP/1.0\r\n\r\n", -1, []string{"a", "b"}, "ab", false, true},
		{"short of its length closes", get11, 10, []string{"abc"}, "", false, true},
	}
	for _, c := range cases {
		var w ResponseWriter
		var f collector
		w.Begin(nil, request(t, c.req), false)
		w.SetCarrier(&f)
		w.WriteHeader(200, "text/plain", c.n)
		for _, p := range c.pieces {
			if err := w.WriteBody([]byte(p)); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			w.Flush()
		}
		out, status := w.End()
		all := append(f.got, out...)
		if status != 200 || w.Closing() != c.close {
			t.Fatalf("%s: status %d closing %v", c.name, status, w.Closing())
		}
		if c.body == "" {
			continue // cut short: no client could read it whole
		}
		res, body := readBack(t, all, "GET")
		if body != c.body || (res.TransferEncoding != nil) != c.chunk || res.Close != c.close {
			t.Fatalf("%s: body %q, transfer-encoding %v, close %v in %q", c.name, body, res.TransferEncoding, res.Close, all)
		}
	}
	var w ResponseWriter
	w.Begin(nil, request(t, get11), false)
	w.WriteHeader(200, "", 3)
	if err := w.WriteBody([]byte("abcd")); err != ErrBodyLength {
		t.Fatalf("excess: %v", err)
	}
	if out, _ := w.End(); !bytes.HasSuffix(out, []byte("\r\n\r\nabc")) || w.Closing() {
		t.Fatalf("excess kept: %q", out)
	}
	w.Begin(nil, request(t, "HEAD / HTTP/1.1\r\n"+host+"\r\n"), false)
	w.WriteHeader(200, "", -1)
	w.WriteBody([]byte("never"))
	if out, _ := w.End(); bytes.Contains(out, []byte("never")) || bytes.HasSuffix(out, []byte("0\r\n\r\n")) {
		t.Fatalf("HEAD got a body: %q", out)
	}
}

func TestSendFile(t *testing.T) {
	var w ResponseWriter
	req := request(t, "GET / HTTP/1.1\r\n"+host+"\r\n")
	w.Begin(nil, req, false)
	w.WriteHeader(200, "", 100)
	if w.SendFile(3, 0, 100) {
		t.Fatal("a connection that cannot send files took one")
	}
	w.SetFiles(true)
	if w.SendFile(3, 0, 99) {
		t.Fatal("a segment shorter than the declared length was taken")
	}
	if !w.SendFile(3, 10, 100) {
		t.Fatal("refused")
	}
	out, _ := w.End()
	if f, ok := w.File(); !ok || f != (FileSegment{FD: 3, Off: 10, Size: 100}) || w.Closing() {
		t.Fatalf("file %+v %v closing %v", f, ok, w.Closing())
	}
	res, _ := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if res.ContentLength != 100 {
		t.Fatalf("Content-Length %d", res.ContentLength)
	}
	w.Begin(nil, req, false)
	if _, ok := w.File(); ok {
		t.Fatal("Begin kept the last response's file")
	}
}
