package fasthttp

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"iolab/models"
	"iolab/models/app"
)

// The fasthttp forms answer what the native handlers answer.
func TestBench(t *testing.T) {
	a, _ := app.Lookup("bench")
	core, err := models.Start("fasthttp", a, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Stop(context.Background())
	base := "http://" + core.Addr().String()
	big := strings.Repeat("u", 3<<20)
	for _, c := range []struct {
		method, path, body, ctype string
		status                    int
		want                      string
	}{
		{"GET", "/plaintext", "", "", 200, "Hello, World!"},
		{"GET", "/json", "", "", 200, `{"message":"Hello, World!"}`},
		{"GET", "/baseline?a=1&b=2", "", "", 200, "3"},
		{"POST", "/baseline?a=1", "41", "", 200, "42"},
		{"POST", "/echo", "hello", "application/json", 200, "hello"},
		{"POST", "/upload", big, "", 200, "3145728"},
		{"POST", "/plaintext", "x", "", 405, "Method Not Allowed\n"},
		{"GET", "/nope", "", "", 404, "Not Found\n"},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || string(body) != c.want || res.Header.Get("Server") != "fasthttp" {
			t.Errorf("%s %s: %d %.40q server %q", c.method, c.path, res.StatusCode, body, res.Header.Get("Server"))
		}
	}
	if st := core.Stats(); st.Get(models.Requests) != 8 || st.Get(models.Accepted) == 0 {
		t.Errorf("counters: requests %d, accepted %d", st.Get(models.Requests), st.Get(models.Accepted))
	}
	if _, err := models.Start("fasthttp", a, "127.0.0.1:0", []string{"handler=offload"}); err == nil || !strings.Contains(err.Error(), "handler") {
		t.Errorf("handler=offload on a peer: %v", err)
	}
}
