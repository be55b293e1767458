package stdhttp

import (
	"strings"
	"testing"

	"iolab/models/app"
)

// BenchmarkSession compares, per request, the native handlers with their
// net/http form through the adapter, on the Session alone (no I/O): the
// adapter's cost without a core around it. The experiment
// experiments/frameworks.yaml measures it on each core.
func BenchmarkSession(b *testing.B) {
	for _, path := range []string{"/plaintext", "/json"} {
		for _, name := range []string{"bench", Prefix + "bench"} {
			b.Run(strings.TrimPrefix(path, "/")+"/"+name, func(b *testing.B) {
				a, err := app.Lookup(name)
				if err != nil {
					b.Fatal(err)
				}
				s, _ := session(b, a)
				in := []byte(strings.Repeat("GET "+path+" HTTP/1.1\r\nHost: t\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n", 16))
				out := make([]byte, 0, 16<<10)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += 16 {
					used, o, _ := s.Serve(in, out[:0])
					if used != len(in) {
						b.Fatal("not all answered")
					}
					out = o
				}
			})
		}
	}
}
