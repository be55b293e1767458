package http1

import (
	"sync"
	"sync/atomic"
	"time"
)

// dateLen is the length of an IMF-fixdate (RFC 9110 §5.6.7).
const dateLen = len("Mon, 02 Jan 2006 15:04:05 GMT")

// The Date header is formatted once a second by one goroutine and read by
// every response with one atomic load: formatting a time per request would
// cost more than the rest of a plaintext response. The clock keeps the whole
// line, with the name of the line that follows it in every response with a
// body, so the encoder copies both at once.
type dateLines struct {
	dateLine [len("\r\nDate: ") + dateLen + len("\r\nContent-Length: ")]byte
}

var (
	clockOnce sync.Once
	clockNow  atomic.Pointer[dateLines]
)

func clock() *dateLines {
	clockOnce.Do(startClock)
	return clockNow.Load()
}

func startClock() {
	tick()
	go func() {
		for {
			// Wake just after each second boundary, so Date changes when the
			// second does rather than up to a second late.
			now := time.Now()
			time.Sleep(now.Truncate(time.Second).Add(time.Second + time.Millisecond).Sub(now))
			tick()
		}
	}()
}

func tick() {
	d := new(dateLines)
	b := append(d.dateLine[:0], "\r\nDate: "...)
	b = time.Now().UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 GMT")
	_ = append(b, "\r\nContent-Length: "...) // fills the array: it has exactly the room
	clockNow.Store(d)
}

// AppendDate appends the current IMF-fixdate, accurate to the second.
func AppendDate(b []byte) []byte {
	const skip = len("\r\nDate: ")
	return append(b, clock().dateLine[skip:skip+dateLen]...)
}
