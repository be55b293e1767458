//go:build !linux

package uringtest

import "errors"

// DenyIOURing is Linux only: elsewhere there is no io_uring to refuse.
func DenyIOURing() error { return errors.New("uringtest: unsupported on this OS (Linux only)") }
