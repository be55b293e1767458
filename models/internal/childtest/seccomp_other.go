//go:build !linux

package childtest

import "errors"

func denyIOURing() error { return errors.New("seccomp is Linux only") }
