//go:build !race

package app

import (
	"testing"

	"iolab/models/http1"
)

// Every workload answers without allocating once its buffers are warm.
func TestAllocs(t *testing.T) {
	reqs := map[string]string{
		"plaintext":     get("/plaintext"),
		"json":          get("/json"),
		"baseline":      get("/baseline?a=1&b=2"),
		"baseline post": post("/baseline?a=1", "2"),
		"echo":          post("/echo", "hello", "Content-Type: application/json\r\n"),
		"405":           post("/plaintext", "x"),
		"404":           get("/missing"),
		"upload":        post("/upload", "0123456789"),
		"static":        get("/hello.txt"),
	}
	dir, _ := staticDir(t)
	for name, raw := range reqs {
		for _, appName := range Names() {
			a, err := Build(appName, Options{StaticDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			p := http1.NewParser(http1.Limits{})
			in := []byte(raw)
			var w http1.ResponseWriter
			out := make([]byte, 0, 4096)
			run := func() {
				if _, err := p.Parse(in); err != nil {
					t.Fatal(err)
				}
				w.Begin(out[:0], p.Request(), false)
				a.Handler.Serve(&w, p.Request())
				out, _ = w.End()
			}
			run()
			if n := testing.AllocsPerRun(100, run); n != 0 {
				t.Errorf("%s on %s: %v allocations per request", name, appName, n)
			}
		}
	}
}
