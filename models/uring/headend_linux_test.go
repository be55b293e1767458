package uring

import "testing"

// TestHeadEnd: how many bytes of the next buffer a split head borrows. A
// wrong answer would still be served correctly (too little and the next
// blank line is found on the next turn; too much is what copying the whole
// buffer did), so only this test can see it: it asks for the fewest bytes
// that end the head, wherever the blank line was cut.
func TestHeadEnd(t *testing.T) {
	for _, tc := range []struct {
		in, data string
		want     int
	}{
		{"GET / HTTP/1.1\r\nHost: t", "\r\n\r\nGET /next", 4},
		{"GET / HTTP/1.1\r\nHost: t\r", "\n\r\nGET /next", 3},
		{"GET / HTTP/1.1\r\nHost: t\r\n", "\r\nGET /next", 2},
		{"GET / HTTP/1.1\r\nHost: t\r\n\r", "\nGET /next", 1},
		{"GET / HTT", "P/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", 18},
		{"GET / HTTP/1.1\r\nHost: t\r\n\r", "X\r\n\r\n", 5}, // a lone \r is not the start of this one
		{"GET / HTTP/1.1\r\nHost: t\r\n", "\r", 0},          // not ended yet
		{"GET / HTTP/1.1\r\nHost", "", 0},
		{"", "\r\n\r\n", 4},
		{"GET / HTTP/1.1\r\nHost: t", "X-A: 1\r\nX-B: 2", 0},
	} {
		if got := headEnd([]byte(tc.in), []byte(tc.data)); got != tc.want {
			t.Errorf("headEnd(%q, %q) = %d, want %d", tc.in, tc.data, got, tc.want)
		}
	}
}
