//go:build !linux

package seccomp

import "errors"

// DenyIOURing is Linux only: elsewhere there is no io_uring to refuse.
func DenyIOURing() error { return errors.New("seccomp: unsupported on this OS (Linux only)") }
