package loadgen

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func mustAddrs(t *testing.T, s string) []netip.Addr {
	t.Helper()
	a, err := ParseSourceAddrs(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestValidate: every bad field is an error that names it.
func TestValidate(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:8080/plaintext"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		field, want string
		edit        func(*Config)
	}{
		{"URL", "missing", func(c *Config) { c.URL = "" }},
		{"URL", "https is not supported", func(c *Config) { c.URL = "https://a/" }},
		{"URL", "has no scheme", func(c *Config) { c.URL = "127.0.0.1:8080" }},
		{"URL", "scheme \"ftp\"", func(c *Config) { c.URL = "ftp://a/" }},
		{"URL", "no host", func(c *Config) { c.URL = "http:///x" }},
		{"URL", "user info", func(c *Config) { c.URL = "http://u:p@a/" }},
		{"URL", "port \"0\"", func(c *Config) { c.URL = "http://a:0/" }},
		{"Connections", "not 1..", func(c *Config) { c.Connections = -1 }},
		{"Threads", "at least 1", func(c *Config) { c.Threads = -2 }},
		{"Pipeline", "not 1..1024", func(c *Config) { c.Pipeline = 2000 }},
		{"Rate", "not a rate", func(c *Config) { c.Rate = -1 }},
		{"Duration", "negative", func(c *Config) { c.Duration = -time.Second }},
		{"Count", "negative", func(c *Config) { c.Count = -1 }},
		{"Warmup", "negative", func(c *Config) { c.Warmup = -time.Second }},
		{"Timeout", "1ms..1m0s", func(c *Config) { c.Timeout = 2 * time.Minute }},
		{"ExpectStatus", "not a status code", func(c *Config) { c.ExpectStatus = 99 }},
		{"MaxResponse", "below 1024", func(c *Config) { c.MaxResponse = 10 }},
		{"Method", "not a token", func(c *Config) { c.Method = "GE T" }},
		{"Headers", "not a token", func(c *Config) { c.Headers = []Header{{"Bad Name", "x"}} }},
		{"Headers", "control character", func(c *Config) { c.Headers = []Header{{"X", "a\r\nb"}} }},
		{"Headers", "Transfer-Encoding is not supported", func(c *Config) { c.Headers = []Header{{"Transfer-Encoding", "chunked"}} }},
		{"Headers", "does not match the body", func(c *Config) { c.Headers = []Header{{"Content-Length", "3"}}; c.Body = []byte("x") }},
		{"Paths", "does not begin with /", func(c *Config) { c.Paths = []string{"plaintext"} }},
		{"Paths", "space or control", func(c *Config) { c.Paths = []string{"GET /a b"} }},
		{"Paths", "method", func(c *Config) { c.Paths = []string{"G(T /a"} }},
		{"ExpectBodies", "one body per entry", func(c *Config) { c.Paths = []string{"/a", "/b"}; c.ExpectBodies = []string{"a"} }},
		{"ExpectBodies", "not both", func(c *Config) {
			c.Paths, c.ExpectBodies, c.ExpectBody = []string{"/a"}, []string{"a"}, []byte("a")
		}},
		{"SourceAddrs", "listed twice", func(c *Config) { c.SourceAddrs = mustAddrs(t, "127.0.0.2,127.0.0.2") }},
		{"SourceAddrs", "mixes", func(c *Config) { c.SourceAddrs = mustAddrs(t, "127.0.0.2,::1") }},
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		err := cfg.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field || !strings.Contains(err.Error(), c.want) ||
			!strings.HasPrefix(err.Error(), c.field+": ") {
			t.Errorf("%s: got %v; want a %s error with %q", c.field, err, c.field, c.want)
		}
	}
}

func TestEncodeRequests(t *testing.T) {
	p, err := newPlan(Config{URL: "http://tfb-server:8080/plaintext", TechEmpowerHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "GET /plaintext HTTP/1.1\r\nHost: tfb-server:8080\r\n" +
		"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
		"Connection: keep-alive\r\n\r\n"
	if p.encoded[0] != want {
		t.Fatalf("got %q\nwant %q", p.encoded[0], want)
	}
	p, err = newPlan(Config{URL: "http://h/x?q=1", Method: "POST", Body: []byte("abc"),
		Headers: []Header{{"Host", "other"}, {"X-A", "b"}}, Paths: []string{"/one", "PUT /two?x"}, Pipeline: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantReqs := []string{
		"POST /one HTTP/1.1\r\nHost: other\r\nX-A: b\r\nContent-Length: 3\r\n\r\nabc",
		"PUT /two?x HTTP/1.1\r\nHost: other\r\nX-A: b\r\nContent-Length: 3\r\n\r\nabc",
	}
	for i, w := range wantReqs {
		if p.encoded[i] != w {
			t.Fatalf("request %d: %q, want %q", i, p.encoded[i], w)
		}
	}
	// Any batch of up to Pipeline requests, from anywhere in the rotation,
	// is one slice of the ring.
	for i := range p.reqs {
		for k := 1; k <= 3; k++ {
			got := string(p.ring[p.off[i]:p.off[i+k]])
			var w strings.Builder
			for j := 0; j < k; j++ {
				w.WriteString(wantReqs[(i+j)%2])
			}
			if got != w.String() {
				t.Fatalf("batch %d+%d: %q", i, k, got)
			}
		}
	}
	p, err = newPlan(Config{URL: "http://h/", Paths: []string{"/a"}})
	if err != nil || p.encoded[0] != "GET /a HTTP/1.1\r\nHost: h\r\n\r\n" {
		t.Fatalf("%q %v", p.encoded, err)
	}
}

// TestBatchEnd: a batch never continues past a request that closes its
// connection.
func TestBatchEnd(t *testing.T) {
	p, err := newPlan(Config{URL: "http://h/", Pipeline: 8, Headers: []Header{{"Connection", "keep-alive, close"}}})
	if err != nil || !p.reqs[0].closes || p.batchEnd[0] != 1 {
		t.Fatalf("%+v %v %v", p.reqs, p.batchEnd, err)
	}
	p, err = newPlan(Config{URL: "http://h/", Pipeline: 8})
	if err != nil || p.reqs[0].closes || p.batchEnd[0] != 8 {
		t.Fatalf("%+v %v %v", p.reqs, p.batchEnd, err)
	}
}

func TestParseSourceAddrs(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.2-127.0.0.9":     "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9",
		"127.0.0.2-4, 10.0.0.1":   "127.0.0.2 127.0.0.3 127.0.0.4 10.0.0.1",
		"10.0.0.255-10.0.1.1":     "10.0.0.255 10.0.1.0 10.0.1.1",
		"::1":                     "::1",
		"fd00::1-fd00::2":         "fd00::1 fd00::2",
		"::ffff:127.0.0.2":        "127.0.0.2",
		"127.0.0.5-127.0.0.5,,":   "127.0.0.5",
		" 127.0.0.2 - 127.0.0.3 ": "127.0.0.2 127.0.0.3",
	} {
		got, err := ParseSourceAddrs(in)
		var s []string
		for _, a := range got {
			s = append(s, a.String())
		}
		if err != nil || strings.Join(s, " ") != want {
			t.Errorf("%q: %v %v", in, s, err)
		}
	}
	for _, in := range []string{"", "x", "127.0.0.9-127.0.0.2", "127.0.0.1-::1", "::1-5", "127.0.0.1-300", "10.0.0.0-10.1.0.1"} {
		if _, err := ParseSourceAddrs(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseHeader(t *testing.T) {
	h, err := ParseHeader("X-Test:  a b ")
	if err != nil || h != (Header{"X-Test", "a b"}) {
		t.Fatalf("%+v %v", h, err)
	}
	for _, in := range []string{"no colon", ": empty", "Bad Name: x", "X: a\nb"} {
		if _, err := ParseHeader(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
