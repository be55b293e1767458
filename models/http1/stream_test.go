package http1

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// streamed parses in as a core does with body streaming on: it feeds k
// bytes at a time into a buffer from which consumed bytes are dropped, and
// takes the body in pieces (StreamBody, NextBody) as soon as the head is
// complete and the body is not. The result has the pieces joined as Body,
// and N counting every byte consumed; held is the most bytes the buffer
// ever held.
func streamed(l Limits, in []byte, k int) (r result, held int) {
	p := NewParser(l)
	var buf, body []byte
	fed, consumed := 0, 0
	streaming := false
	drop := func(n int) {
		buf = buf[:copy(buf, buf[n:])]
		consumed += n
	}
	for {
		held = max(held, len(buf))
		if streaming {
			piece, n, done, err := p.NextBody(buf)
			if err != nil {
				return result{Err: err.Error()}, held
			}
			body = append(body, piece...)
			drop(n)
			if done {
				r = snapshot(p, consumed, nil)
				r.Body = string(body)
				if p.Request().BodySize != int64(len(body)) {
					r.Err = fmt.Sprintf("BodySize %d, pieces %d", p.Request().BodySize, len(body))
				}
				return r, held
			}
			if n > 0 {
				continue
			}
		} else {
			n, err := p.Parse(buf)
			switch {
			case err == nil:
				return snapshot(p, consumed+n, nil), held
			case !errors.Is(err, ErrNeedMore):
				return result{Err: err.Error()}, held
			case p.BodyPending():
				used, first := p.StreamBody(buf)
				body = append(body, first...)
				drop(used)
				streaming = true
				continue
			}
		}
		if fed == len(in) {
			return result{Err: ErrNeedMore.Error()}, held
		}
		m := min(k, len(in)-fed)
		buf = append(buf, in[fed:fed+m]...)
		fed += m
	}
}

// A body taken in pieces is the body taken whole: the same bytes, the same
// head, the same length consumed, the same errors, however the input is cut.
func TestStreamBodyMatchesWhole(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1000)
	inputs := map[string]string{
		"content-length": "POST /upload HTTP/1.1\r\n" + host + "Content-Length: 16000\r\n\r\n" + big,
		"chunked": chunkedReq("3e8;a=b\r\n" + big[:1000] + "\r\n1\r\nz\r\n" +
			"1f40\r\n" + big[:8000] + "\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n"),
		"chunked, no trailers": chunkedReq("5\r\nhello\r\n0\r\n\r\n"),
		"pipelined after":      "POST / HTTP/1.1\r\n" + host + "Content-Length: 10\r\n\r\n0123456789GET / HTTP/1.1\r\n" + host + "\r\n",
		"bad chunk framing":    chunkedReq("5\r\nhello!!\r\n0\r\n\r\n"),
		"prohibited trailer":   chunkedReq("5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"),
		"incomplete":           "POST / HTTP/1.1\r\n" + host + "Content-Length: 100\r\n\r\nshort",
	}
	for name, in := range inputs {
		want := parseAll(Limits{MaxBody: 1 << 16}, in)
		for _, k := range []int{1, 2, 3, 7, 64, 1000, len(in)} {
			got, _ := streamed(Limits{MaxBody: 1 << 16}, []byte(in), k)
			if got != want {
				t.Fatalf("%s in pieces of %d:\ngot  %+v\nwant %+v", name, k, got, want)
			}
		}
	}
}

// A streamed body never needs a buffer the size of the body, and the limits
// hold as they do for a whole one.
func TestStreamBodyBoundsAndLimits(t *testing.T) {
	body := strings.Repeat("x", 1<<20)
	in := "POST / HTTP/1.1\r\n" + host + "Content-Length: 1048576\r\n\r\n" + body
	r, held := streamed(Limits{MaxBody: 2 << 20}, []byte(in), 4096)
	if r.Err != "" || len(r.Body) != len(body) {
		t.Fatalf("%+v", r.Err)
	}
	if held > 8192 {
		t.Fatalf("the buffer held %d bytes for a 1 MiB body", held)
	}
	var chunks strings.Builder
	for range 20 {
		fmt.Fprintf(&chunks, "1000\r\n%s\r\n", strings.Repeat("y", 4096))
	}
	chunks.WriteString("0\r\n\r\n")
	r, _ = streamed(Limits{MaxBody: 16 * 4096}, []byte(chunkedReq(chunks.String())), 1500)
	if r.Err != KindBodyTooLarge.Err().Error() {
		t.Fatalf("chunked over the limit: %+v", r.Err)
	}
	// One-byte chunks cost more framing than data; the bound on framing is
	// the same streamed or whole.
	tiny := strings.Repeat("1\r\nz\r\n", 4000) + "0\r\n\r\n"
	want := parseAll(Limits{MaxBody: 1000}, chunkedReq(tiny))
	got, _ := streamed(Limits{MaxBody: 1000}, []byte(chunkedReq(tiny)), 512)
	if got != want || want.Err == "" {
		t.Fatalf("framing bound:\ngot  %+v\nwant %+v", got, want)
	}
}

// A streamed request's head outlives the caller's buffer, and the parser no
// longer asks for room for the body.
func TestStreamBodyState(t *testing.T) {
	p := NewParser(Limits{})
	head := "POST /up HTTP/1.1\r\n" + host + "Content-Length: 6\r\n\r\n"
	buf := []byte(head + "ab")
	if _, err := p.Parse(buf); !errors.Is(err, ErrNeedMore) || !p.BodyPending() {
		t.Fatalf("%v, pending %v", err, p.BodyPending())
	}
	used, first := p.StreamBody(buf)
	if used != len(head) || len(first) != 0 {
		t.Fatalf("used %d first %q", used, first)
	}
	copy(buf, bytes.Repeat([]byte{'!'}, len(buf))) // the caller reuses its buffer
	r := p.Request()
	if string(r.Path) != "/up" || !r.Streamed {
		t.Fatalf("path %q streamed %v", r.Path, r.Streamed)
	}
	if p.Need() != 0 || p.BodyPending() || p.InHead() {
		t.Fatal("a streamed request still asks for its whole body")
	}
	piece, n, done, err := p.NextBody([]byte("abcdefGET"))
	if string(piece) != "abcdef" || n != 6 || !done || err != nil {
		t.Fatalf("%q %d %v %v", piece, n, done, err)
	}
}
