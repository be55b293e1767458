//go:build !linux

package uring

import "runtime"

func kernelRelease() string { return runtime.GOOS }

func limits() (memlock, nofile Limit) {
	return Limit{"unknown", "unknown"}, Limit{"unknown", "unknown"}
}
