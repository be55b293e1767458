package app

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The net/http forms answer what the native handlers answer, on every path
// the workloads use: the same statuses, types and bodies.
func TestHTTPFormsAgree(t *testing.T) {
	reqs := map[string][]string{
		"bench": {
			get("/plaintext"), get("/json"), get("/baseline?a=1&b=2"), get("/baseline?a=x"),
			post("/baseline?a=1", "41"), post("/baseline", "nope"),
			post("/echo", "hello", "Content-Type: application/json\r\n"), post("/echo", "hello"),
			post("/upload", strings.Repeat("u", 5000)), post("/plaintext", "x"),
		},
		"echo": {get("/any"), post("/x", "a=b", "Content-Type: application/x-www-form-urlencoded\r\n"), post("/", "hello")},
	}
	for name, raws := range reqs {
		a, err := Lookup(name)
		if err != nil || a.HTTP == nil {
			t.Fatalf("%s: %v, HTTP form %v", name, err, a.HTTP)
		}
		for _, raw := range raws {
			native, nbody := serve(t, a.Handler, raw)
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			a.HTTP.ServeHTTP(rec, req)
			res := rec.Result()
			nt, ht := native.Header.Get("Content-Type"), res.Header.Get("Content-Type")
			if native.StatusCode >= 400 {
				nt, ht = "", "" // error bodies are each library's own
			}
			if res.StatusCode != native.StatusCode || ht != nt || native.StatusCode < 400 && rec.Body.String() != nbody {
				t.Errorf("%s %.40q:\nnet/http %d %q %q\nnative   %d %q %q", name, raw,
					res.StatusCode, ht, rec.Body.String(), native.StatusCode, nt, nbody)
			}
		}
	}
}
