// Package models is the contract every iolab server core meets, and the
// registry that lets a matrix switch between cores at run time.
//
// A core is one way of asking the kernel for network I/O: a goroutine per
// connection on the runtime poller (models/netstd), edge-triggered epoll
// loops on raw syscalls (models/epoll), io_uring reactors (models/uring).
// Everything above the socket is shared: every core feeds the bytes it reads
// to a Session (models/http1 to parse, models/app to answer) and writes the
// bytes the Session returns. A difference between two cores in a chart is
// therefore a difference in I/O, never in HTTP.
//
// # Obligations of a core
//
// Every core registers a Model whose Start returns a running Core, declares
// `var _ models.Core = (*Server)(nil)`, joins the conformance suite
// (models/conformance) by registering, and keeps these promises:
//
//  1. Pipelining. Every complete request in the input is answered, in order,
//     before the core reads again; the unparsed tail is kept for the next
//     read. Session.Serve does the HTTP part; the core owns the bytes.
//  2. One write per batch. The responses to all requests answered from one
//     read go out in one write (one send SQE), not one per request: with
//     pipelining, syscalls per request is the number lessons teach from.
//  3. Back-pressure. A partial write keeps its bytes and waits for
//     writability; while output is pending beyond a high-water mark the core
//     stops reading that connection rather than growing memory.
//  4. Limits. The request limits (Config.Limits) are enforced by the parser;
//     the core bounds connections (Config.MaxConns), closes a connection idle
//     for Config.IdleTimeout (nothing read, no write progress: a client
//     taking a large response slowly is not idle) and one whose request head
//     has not arrived within Config.HeaderTimeout of its first byte while the
//     core reads it (a head held up by back-pressure waits on the core, not
//     on the client, and the clock starts again when reading resumes).
//     Timeouts close silently: a client that sent nothing complete is owed
//     no response. When accept fails for lack of descriptors the core backs
//     off instead of spinning.
//  5. Closing. After a response that closes the connection (an error, a
//     "Connection: close", HTTP/1.0 without keep-alive), the core shuts
//     down its write side, discards what the client still sends for a short
//     while, then closes, so the client reads the response rather than a
//     reset.
//  6. Counters. Each loop (or connection) counts into plain Counters, no
//     atomics on the hot path, and publishes them to a Meter once per batch;
//     Stats sums them on demand. Syscalls are counted by kind where the core
//     makes them itself.
//  7. Shutdown. Stop closes the listeners first, lets every connection
//     finish the responses it has already begun (responses produced after
//     Stop say "Connection: close"), closes idle connections at once, and
//     returns when every loop has exited. When its context ends first, Stop
//     closes what is left and returns the context's error.
//  8. Allocation. Once warm, serving a request allocates nothing: buffers
//     come from per-loop or pooled memory and are given back when a
//     connection goes idle.
//  9. Offload. Each connection's Session is bound to a Resumer
//     (Session.Bind; an event loop uses an Inbox woken by its own eventfd).
//     For each Resume the core calls Serve again on that connection, on
//     its own thread, with the input it kept, and writes the output. It
//     stops reading while Session.Holding, lets a connection whose request
//     is InFlight finish when stopping, does not time out one that is
//     Working, and calls Session.Abort when it closes a connection. Once
//     the output is written and Session.AfterOutput, it sends the
//     PendingFile (zerocopy=on: sendfile, or splice) and Serves again.
//     See offload.go for how the Session does its part.
package models
