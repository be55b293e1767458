// Package uringtest refuses io_uring to the process that calls it and to its
// children, with a seccomp filter: how the tests see a core, `iolab serve`
// and `iolab run` where io_uring is refused (a container's profile, or
// sysctl kernel.io_uring_disabled=2) without changing the machine for
// everyone else on it.
package uringtest
