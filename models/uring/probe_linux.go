package uring

import (
	"strconv"

	"golang.org/x/sys/unix"
)

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return "Linux " + unix.ByteSliceToString(u.Release[:])
}

func limits() (memlock, nofile Limit) {
	get := func(res int) Limit {
		var l unix.Rlimit
		if err := unix.Getrlimit(res, &l); err != nil {
			return Limit{"unknown", "unknown"}
		}
		f := func(v uint64) string {
			if v == unix.RLIM_INFINITY {
				return "unlimited"
			}
			return strconv.FormatUint(v, 10)
		}
		return Limit{f(l.Cur), f(l.Max)}
	}
	return get(unix.RLIMIT_MEMLOCK), get(unix.RLIMIT_NOFILE)
}
