// Package conformance is one behaviour suite, raw TCP cases, that every
// registered core must pass: keep-alive, pipelining, requests split anywhere,
// bodies, HTTP/1.0, closing, every class of rejected request (right status,
// then close), limits, timeouts and graceful stop. It loops over the
// registry (models.Names) and each model's Variants, so a new core joins by
// registering. The cases are in conformance_test.go; run them with
//
//	go test ./models/conformance/
package conformance
