package app

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"iolab/models/http1"
)

// staticDir makes a directory with a small file, an index, a file too large
// to cache, and a link pointing out of it.
func staticDir(t testing.TB) (dir string, big []byte) {
	dir = t.TempDir()
	big = bytes.Repeat([]byte("0123456789abcdef"), (cacheFileMax+100)/16)
	files := map[string][]byte{
		"hello.txt":       []byte("hello, file"),
		"sub/index.html":  []byte("<p>index</p>"),
		"sub/data.json":   []byte(`{"a":1}`),
		"big.bin":         big,
		"empty.txt":       nil,
		"outside/../x.js": []byte("x"),
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	return dir, big
}

func TestStatic(t *testing.T) {
	dir, big := staticDir(t)
	a, err := Build("static", Options{StaticDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		req, status, ctype, body string
	}{
		{get("/hello.txt"), "200", "text/plain; charset=utf-8", "hello, file"},
		{get("/hello.txt"), "200", "text/plain; charset=utf-8", "hello, file"}, // from the cache now
		{"HEAD /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n", "200", "text/plain; charset=utf-8", ""},
		{get("/sub/"), "200", "text/html; charset=utf-8", "<p>index</p>"},
		{get("/sub/data.json"), "200", "application/json", `{"a":1}`},
		{get("/x.js"), "200", "text/javascript; charset=utf-8", "x"},
		{get("/big.bin"), "200", "application/octet-stream", string(big)},
		{get("/empty.txt"), "200", "text/plain; charset=utf-8", ""},
		{get("/passwd"), "404", "text/plain", "Not Found\n"},
		{get("/sub/../hello.txt"), "404", "text/plain", "Not Found\n"},
		{get("/missing"), "404", "text/plain", "Not Found\n"},
		{post("/hello.txt", "x"), "405", "text/plain", "Method Not Allowed\n"},
	}
	for _, c := range cases {
		res, body := serve(t, a.Handler, c.req)
		if res.Status[:3] != c.status || res.Header.Get("Content-Type") != c.ctype || body != c.body {
			t.Errorf("%q: %s %q %.40q", c.req, res.Status, res.Header.Get("Content-Type"), body)
		}
	}
	if _, err := Build("static", Options{}); err == nil || !strings.Contains(err.Error(), "--static-dir") {
		t.Fatalf("no directory: %v", err)
	}
	if _, err := Build("static", Options{StaticDir: filepath.Join(dir, "hello.txt")}); err == nil {
		t.Fatal("a file was taken for a directory")
	}
}

// With a connection that sends files itself, the body is a file segment
// after the head, and nothing is copied.
func TestStaticSendFile(t *testing.T) {
	dir, big := staticDir(t)
	a, err := Build("static", Options{StaticDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p := http1.NewParser(http1.Limits{})
	p.Parse([]byte(get("/big.bin")))
	var w http1.ResponseWriter
	w.SetFiles(true)
	w.Begin(nil, p.Request(), false)
	a.Handler.Serve(&w, p.Request())
	out, _ := w.End()
	seg, ok := w.File()
	if !ok || seg.Off != 0 || seg.Size != int64(len(big)) {
		t.Fatalf("segment %+v %v", seg, ok)
	}
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil || res.ContentLength != int64(len(big)) {
		t.Fatalf("%v %q", err, out)
	}
	if rest, _ := io.ReadAll(res.Body); len(rest) != 0 {
		t.Fatal("the body was copied as well")
	}
	got := make([]byte, seg.Size)
	if _, err := syscall.Pread(seg.FD, got, seg.Off); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("the segment's file does not hold the body: %v", err)
	}
}
