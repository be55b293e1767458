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
// cost more than the rest of a plaintext response.
var (
	clockOnce sync.Once
	clockNow  atomic.Pointer[[dateLen]byte]
)

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
	var d [dateLen]byte
	time.Now().UTC().AppendFormat(d[:0], "Mon, 02 Jan 2006 15:04:05 GMT")
	clockNow.Store(&d)
}

// AppendDate appends the current IMF-fixdate, accurate to the second.
func AppendDate(b []byte) []byte {
	clockOnce.Do(startClock)
	return append(b, clockNow.Load()[:]...)
}
