// Package loadgen is iolab's HTTP/1.1 load generator. On a 2-core machine
// the client decides what can be measured, so it is built like the servers it
// measures: worker threads (each a goroutine locked to its OS thread) own
// their connections on raw non-blocking sockets and run their own epoll loop,
// with no goroutine per connection and no runtime poller. Requests are encoded
// once, before the run; a pipelined batch of D requests is one write of bytes
// that already exist; responses are framed in place by models/http1's
// ResponseParser. Once warm, a request costs no allocation.
//
// # Loops
//
// Closed loop (Rate 0), as TechEmpower runs wrk: each connection keeps a
// batch of Pipeline requests in flight and sends the next batch when the
// whole previous one is answered. Latency is measured from the write that
// carried each request.
//
// Open loop (Rate > 0): requests are due on a fixed schedule, Rate per second
// in all, spread evenly over the connections; a connection sends what is due
// as soon as it has room (at most Pipeline in flight). Latency is measured
// from each request's intended send time, not from when it could finally be
// sent, so a server that stalls shows the stall in its percentiles instead
// of hiding it by slowing the client down (coordinated omission, as wrk2
// corrects it).
//
// # Accounting
//
// Nothing is lost silently. In the measured window every request sent is
// received, lost (in flight when its connection failed, counted as an error
// of the failure's category: read, write, timeout or parse), or still in
// flight at the end; Result says so in one line. In open loop every request
// the schedule issued is sent, expired (older than Timeout before it could be
// sent: a timeout error) or still waiting. A connection closed by the server
// is reopened. Errors count failed requests, except connect errors, which
// count failed connection attempts; a response with an unexpected status or
// body is received and also counted as an error.
//
// Latency goes into one HDR histogram per worker (microseconds, 1 µs to 60 s,
// 3 significant digits), merged at the end and encoded in Result, so results
// from several hosts can be merged later (Merge). The client measures its own
// CPU time (its worker threads', over the measured window) and counts its own
// syscalls, so a result says whether the client, rather than the server, was
// the limit, and what each request cost it.
//
// Linux only: elsewhere Run returns an error.
package loadgen
