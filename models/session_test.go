package models

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"iolab/models/app"
	"iolab/models/http1"
)

func appEcho(t testing.TB) app.App {
	a, err := app.Lookup("echo")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newSession(t testing.TB, h app.Handler) (*Session, *Counters) {
	cfg, err := NewConfig(Model{Name: "test"}, app.App{Name: "t", Handler: h}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var c Counters
	var s Session
	s.Init(&cfg, &c)
	return &s, &c
}

// responses parses out with net/http and returns "status body" per response.
func responses(t *testing.T, out []byte) []string {
	t.Helper()
	var got []string
	br := bufio.NewReader(bytes.NewReader(out))
	for {
		if _, err := br.Peek(1); err != nil {
			return got
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		body, _ := io.ReadAll(res.Body)
		s := res.Status[:3] + " " + string(body)
		if res.Close {
			s += " [close]"
		}
		got = append(got, s)
	}
}

func post(body string) string {
	return "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + string(rune('0'+len(body))) + "\r\n\r\n" + body
}

func TestSessionPipelining(t *testing.T) {
	s, c := newSession(t, appEcho(t).Handler)
	in := []byte(post("a") + post("bb") + post("ccc") + "POST / HTTP/1.1\r\nHost: t\r\nContent-Le")
	used, out, closing := s.Serve(in, nil)
	if closing || used != len(post("a")+post("bb")+post("ccc")) {
		t.Fatalf("used %d closing %v", used, closing)
	}
	if got := strings.Join(responses(t, out), "|"); got != "200 a|200 bb|200 ccc" {
		t.Fatalf("responses %s", got)
	}
	if c[Requests] != 3 || c[Status2xx] != 3 {
		t.Fatalf("counters %d %d", c[Requests], c[Status2xx])
	}
	// The tail, completed, is answered next.
	tail := append(in[used:], "ngth: 1\r\n\r\nd"...)
	used, out, _ = s.Serve(tail, nil)
	if used != len(tail) || strings.Join(responses(t, out), "|") != "200 d" {
		t.Fatalf("tail: used %d of %d, %q", used, len(tail), out)
	}
}

func TestSessionClosing(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{post("a") + "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + post("b"), "200 a|200  [close]"},
		{"GET / HTTP/1.0\r\n\r\n" + post("b"), "200  [close]"},
		{post("a") + "GET / HTTP/1.1\r\nHost: t\r\nX : y\r\n\r\n" + post("b"), "200 a|400 whitespace between field name and colon\n [close]"},
		{"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n" + post("b"), "501 CONNECT is not supported\n [close]"},
	}
	for _, c := range cases {
		s, _ := newSession(t, appEcho(t).Handler)
		used, out, closing := s.Serve([]byte(c.in), nil)
		if !closing || used != len(c.in) || !s.Closed() {
			t.Fatalf("%q: used %d closing %v", c.in, used, closing)
		}
		if got := strings.Join(responses(t, out), "|"); got != c.want {
			t.Fatalf("%q:\ngot  %q\nwant %q", c.in, got, c.want)
		}
		// Nothing more is ever answered.
		if used, out, closing := s.Serve([]byte(post("z")), nil); used != len(post("z")) || len(out) != 0 || !closing {
			t.Fatalf("answered after closing: %q", out)
		}
	}
}

func TestSessionContinueAndDrain(t *testing.T) {
	s, c := newSession(t, appEcho(t).Handler)
	head := "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
	used, out, _ := s.Serve([]byte(head), nil)
	if used != 0 || string(out) != http1.Continue || c[Status1xx] != 1 {
		t.Fatalf("continue: used %d out %q", used, out)
	}
	used, out, _ = s.Serve([]byte(head+"ok"), nil)
	if used != len(head)+2 || strings.Join(responses(t, out), "|") != "200 ok" {
		t.Fatalf("after continue: %q", out)
	}
	s.Drain()
	_, out, closing := s.Serve([]byte(post("x")+post("y")), nil)
	if !closing || strings.Join(responses(t, out), "|") != "200 x [close]" {
		t.Fatalf("drain: %q", out)
	}
}

func TestSessionHandlerWritesNothing(t *testing.T) {
	s, c := newSession(t, app.HandlerFunc(func(*http1.ResponseWriter, *http1.Request) {}))
	_, out, _ := s.Serve([]byte(post("x")), nil)
	if got := strings.Join(responses(t, out), "|"); got != "500 handler wrote no response\n" || c[Status5xx] != 1 {
		t.Fatalf("%q", got)
	}
}

func TestSessionReadRoom(t *testing.T) {
	s, _ := newSession(t, appEcho(t).Handler)
	if b := s.ReadRoom(make([]byte, 3, 8), 16); cap(b) != 8 {
		t.Fatal("grew a buffer with room")
	}
	if b := s.ReadRoom(make([]byte, 8), 16); cap(b) != 16 || len(b) != 8 {
		t.Fatalf("cap %d len %d", cap(b), len(b))
	}
	head := "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
	buf := append(make([]byte, 0, len(head)), head...)
	s.Serve(buf, nil)
	if b := s.ReadRoom(buf, 16); cap(b) != len(head)+100000 || string(b) != head {
		t.Fatalf("cap %d, want the whole request", cap(b))
	}
}
