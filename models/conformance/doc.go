// Package conformance is one behaviour suite, raw TCP cases, that every
// registered core must pass: keep-alive, pipelining, requests split anywhere,
// bodies, HTTP/1.0, closing, every class of rejected request (right status,
// then close), limits, timeouts and graceful stop; a corpus of
// request-smuggling vectors (smuggling_test.go); and how each core holds up
// under faults (reliability_test.go, each core in a child process): slow
// clients, resets at every moment of an exchange (no descriptor leaks),
// accept failing with EMFILE (no spin, no death). It loops over the
// registry (models.Names) and each model's Variants, so a new core joins by
// registering. Run them with
//
//	go test ./models/conformance/
//
// The stress tests (stress_test.go: 20,000 connections under ab, 50,000 held
// by the load generator, 1,000 slow clients beside a measured load, SIGTERM
// under pipelined load) are opt-in, and `make stress` runs them:
//
//	IOLAB_STRESS=1 go test -v -run Stress -timeout 60m ./models/conformance/
package conformance
