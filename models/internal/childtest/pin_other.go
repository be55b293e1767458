//go:build !linux

package childtest

import "errors"

func pin(int) error { return errors.New("childtest: pinning is Linux only") }
