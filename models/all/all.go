// Package all registers every server core, the reference peers
// (models/peer), and the applications adapted from net/http
// (models/app/stdhttp). Import it for its side effect where
// the whole registry is wanted: the CLI, the conformance suite, the
// experiment runner.
package all

import (
	_ "iolab/models/app/stdhttp"
	_ "iolab/models/epoll"
	_ "iolab/models/netstd"
	_ "iolab/models/peer/fasthttp"
	_ "iolab/models/peer/nethttp"
	_ "iolab/models/uring"
)
