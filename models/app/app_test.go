package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"iolab/models/http1"
)

// do runs one raw request through the named app and reads the response back
// with net/http.
func do(t *testing.T, appName, raw string) (*http.Response, string) {
	t.Helper()
	a, err := Lookup(appName)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, a.Handler, raw)
}

// serve runs one raw request through h.
func serve(t *testing.T, h Handler, raw string) (*http.Response, string) {
	t.Helper()
	appName := fmt.Sprintf("%T", h)
	p := http1.NewParser(http1.Limits{})
	if _, err := p.Parse([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	req := p.Request()
	var w http1.ResponseWriter
	w.Begin(nil, req, false)
	h.Serve(&w, req)
	out, status := w.End()
	if status == 0 {
		t.Fatalf("%s: no response to %q", appName, raw)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), &http.Request{Method: string(req.Method)})
	if err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	body, _ := io.ReadAll(res.Body)
	// TechEmpower's verifier wants these on every response.
	for _, h := range []string{"Server", "Date"} {
		if res.Header.Get(h) == "" {
			t.Fatalf("%q: no %s header", out, h)
		}
	}
	return res, string(body)
}

func get(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n"
}

func post(path, body string, headers ...string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: t\r\n" + strings.Join(headers, "") +
		"Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestBench(t *testing.T) {
	cases := []struct {
		req, status, ctype, body, allow string
	}{
		{get("/plaintext"), "200", "text/plain", "Hello, World!", ""},
		{"HEAD /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", "200", "text/plain", "", ""},
		{get("/json"), "200", "application/json", `{"message":"Hello, World!"}`, ""},
		{get("/baseline?a=1&b=2"), "200", "text/plain", "3", ""},
		{get("/baseline?a=-5&&b=+2&c=10"), "200", "text/plain", "7", ""},
		{get("/baseline"), "200", "text/plain", "0", ""},
		{post("/baseline?a=1&b=2", "39"), "200", "text/plain", "42", ""},
		{post("/baseline", " 7\n"), "200", "text/plain", "7", ""},
		{get("/baseline?a=x"), "400", "text/plain", "query values must be integers\n", ""},
		{get("/baseline?a"), "400", "text/plain", "query values must be integers\n", ""},
		{get("/baseline?a=9223372036854775807&b=1"), "400", "text/plain", "query values must be integers\n", ""},
		{get("/baseline?a=99999999999999999999"), "400", "text/plain", "query values must be integers\n", ""},
		{get("/baseline?a=-9223372036854775808"), "200", "text/plain", "-9223372036854775808", ""},
		{post("/baseline", "nope"), "400", "text/plain", "body must be an integer\n", ""},
		{post("/echo", "hello", "Content-Type: application/json\r\n"), "200", "application/json", "hello", ""},
		{post("/echo", "hello"), "200", "application/octet-stream", "hello", ""},
		{post("/upload", "hello"), "200", "text/plain", "5", ""},
		{get("/upload"), "405", "text/plain", "Method Not Allowed\n", "POST, PUT, OPTIONS"},
		{"PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "200", "application/octet-stream", "abc", ""},
		{post("/plaintext", "x"), "405", "text/plain", "Method Not Allowed\n", "GET, HEAD, OPTIONS"},
		{get("/echo"), "405", "text/plain", "Method Not Allowed\n", "POST, PUT, OPTIONS"},
		{"DELETE /json HTTP/1.1\r\nHost: t\r\n\r\n", "405", "text/plain", "Method Not Allowed\n", "GET, HEAD, OPTIONS"},
		{"OPTIONS /baseline HTTP/1.1\r\nHost: t\r\n\r\n", "204", "", "", "GET, HEAD, POST, OPTIONS"},
		{get("/nope"), "404", "text/plain", "Not Found\n", ""},
		{get("/plaintext/"), "404", "text/plain", "Not Found\n", ""},
	}
	for _, c := range cases {
		res, body := do(t, "bench", c.req)
		if got := res.Status[:3]; got != c.status || res.Header.Get("Content-Type") != c.ctype ||
			body != c.body || res.Header.Get("Allow") != c.allow {
			t.Errorf("%q:\ngot  %s %q %q allow %q\nwant %s %q %q allow %q", c.req,
				got, res.Header.Get("Content-Type"), body, res.Header.Get("Allow"), c.status, c.ctype, c.body, c.allow)
		}
	}
}

func TestEcho(t *testing.T) {
	cases := []struct {
		req, ctype, body string
	}{
		{get("/any/path?x"), "text/plain", ""},
		{post("/", "hello"), "application/octet-stream", "hello"},
		{post("/x", "a=b", "Content-Type: application/x-www-form-urlencoded\r\n"), "application/x-www-form-urlencoded", "a=b"},
		{"FOOBAR / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi", "application/octet-stream", "hi"},
		{"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "application/octet-stream", "hello world"},
	}
	for _, c := range cases {
		res, body := do(t, "echo", c.req)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || body != c.body {
			t.Errorf("%q: %d %q %q", c.req, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	res, _ := do(t, "echo", "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n")
	if res.StatusCode != 200 || res.Header.Get("Allow") == "" {
		t.Errorf("OPTIONS: %d allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestRegistry(t *testing.T) {
	if got := strings.Join(Names(), ","); got != "bench,echo,static" {
		t.Fatalf("Names() = %s", got)
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "bench, echo, static") {
		t.Fatalf("Lookup error %v does not list the apps", err)
	}
	if _, err := Lookup(Default); err != nil {
		t.Fatal(err)
	}
}

// TestJSONString compares the encoder with encoding/json.
func TestJSONString(t *testing.T) {
	for _, s := range []string{"", "Hello, World!", "quote\" back\\slash", "\x00\x01\x1f\t\n\r\b\f",
		"<html>&", "caf\xc3\xa9 \u2028 \u2029 \U0001F600", "bad \xff utf8 \xc3", "\x7f"} {
		checkJSONString(t, s)
	}
}

func FuzzJSONString(f *testing.F) {
	f.Add("Hello, World!")
	f.Add("\x00\xff\u2028")
	f.Fuzz(checkJSONString)
}

func checkJSONString(t *testing.T, s string) {
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if got := appendJSONString(nil, s); string(got) != strings.TrimSuffix(want.String(), "\n") {
		t.Fatalf("%q: got %s, want %s", s, got, want.String())
	}
}
