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
