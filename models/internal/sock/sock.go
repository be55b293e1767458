// Package sock opens the raw, non-blocking listening sockets that the
// syscall cores (epoll, io_uring) own themselves instead of going through
// package net.
package sock
