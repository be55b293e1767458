//go:build !linux

package cpubench

import "errors"

func pinSelf(int) error { return errors.New("pinning is Linux only") }
