package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"iolab/models/http1"
)

// The static workload's cache: files up to cacheFileMax are read into
// memory on their first request, until cacheBudget is spent; the rest are
// read from the file on every request (or sent with sendfile or splice,
// where the core has zerocopy=on).
const (
	cacheFileMax = 1 << 20
	cacheBudget  = 64 << 20
)

// static serves the regular files under a directory, found at Open: a
// file added later is not served, and a name outside the index (with
// "..", an escape, a symbolic link) is simply not found.
type static struct {
	dir    string
	files  map[string]*staticFile // by URL path, "/a/b.txt"
	budget atomic.Int64           // cache bytes left
}

// staticFile is one file: its descriptor is opened, and its bytes cached,
// on the first request that needs them.
type staticFile struct {
	name  string // on disk
	size  int64
	ctype string

	openOnce sync.Once
	f        *os.File
	fd       int
	openErr  error

	cacheOnce sync.Once
	data      []byte // nil: not cached
}

var _ Handler = (*static)(nil)

func openStatic(o Options) (App, error) {
	if o.StaticDir == "" {
		return App{}, errors.New("app static: no directory to serve; give one with --static-dir")
	}
	s, err := newStatic(o.StaticDir)
	if err != nil {
		return App{}, err
	}
	return App{Name: "static", Doc: "files from " + o.StaticDir, Handler: s, HTTP: http.FileServer(http.Dir(o.StaticDir))}, nil
}

func newStatic(dir string) (*static, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("app static: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("app static: %s is not a directory", dir)
	}
	s := &static{dir: dir, files: map[string]*staticFile{}}
	s.budget.Store(cacheBudget)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil // directories are walked; links and devices are not served
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		urlPath := "/" + filepath.ToSlash(rel)
		ctype := mime.TypeByExtension(path.Ext(urlPath))
		if ctype == "" {
			ctype = octets
		}
		s.files[urlPath] = &staticFile{name: p, size: info.Size(), ctype: ctype}
		if path.Base(urlPath) == "index.html" {
			s.files[strings.TrimSuffix(urlPath, "index.html")] = s.files[urlPath]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("app static: %w", err)
	}
	return s, nil
}

// Serve answers GET and HEAD with the file at the request's path. With a
// connection that can send files itself the body goes from the descriptor
// (no copy); otherwise from the cache, or read from the file.
func (s *static) Serve(w *http1.ResponseWriter, r *http1.Request) {
	if !allow(w, r, getHead, "GET, HEAD") {
		return
	}
	f := s.files[string(r.Path)] // no allocation: the compiler looks up the bytes
	if f == nil {
		w.WriteString(404, textPlain, "Not Found\n")
		return
	}
	fd, err := f.open()
	if err != nil {
		w.WriteString(500, textPlain, "cannot open the file\n")
		return
	}
	w.WriteHeader(200, f.ctype, f.size)
	if w.SendFile(fd, 0, f.size) {
		return
	}
	if data := f.cached(s); data != nil {
		w.WriteBody(data)
		return
	}
	// Too large to cache: read it through the scratch buffer.
	w.Scratch = grow(w.Scratch, 64<<10)
	for off := int64(0); off < f.size; {
		n, err := f.f.ReadAt(w.Scratch[:min(int64(cap(w.Scratch)), f.size-off)], off)
		if n > 0 {
			w.WriteBody(w.Scratch[:n])
			off += int64(n)
		}
		if err != nil && !(errors.Is(err, io.EOF) && off == f.size) {
			w.SetClose() // cut short: the declared length cannot be met
			return
		}
	}
}

func (f *staticFile) open() (int, error) {
	f.openOnce.Do(func() {
		f.f, f.openErr = os.Open(f.name)
		if f.openErr == nil {
			f.fd = int(f.f.Fd())
		}
	})
	return f.fd, f.openErr
}

// cached returns the file's bytes from memory, reading them on the first
// call when the file is small enough and the budget allows; nil otherwise.
func (f *staticFile) cached(s *static) []byte {
	f.cacheOnce.Do(func() {
		if f.size > cacheFileMax {
			return
		}
		if s.budget.Add(-f.size) < 0 {
			s.budget.Add(f.size) // full: this one is read each time
			return
		}
		data := make([]byte, f.size)
		if _, err := f.f.ReadAt(data, 0); err == nil || errors.Is(err, io.EOF) {
			f.data = data
		}
	})
	return f.data
}

func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}
