// Package conformance is tether's conformance suite: the case categories of
// the Autobahn testsuite, written from RFC 6455 and RFC 7692, run against
// tether's server (driven by a raw fuzzing client) and tether's client
// (driven by a raw fuzzing server). The raw side frames with package wire,
// never with tether's ws package.
//
// Every case is graded OK or FAILED against the strict RFC behaviour:
// echo what was sent, fail fast on invalid UTF-8, close with 1002 on
// protocol errors and 1007 on invalid payload data, echo the peer's close
// code, and end the TCP connection in the right order.
//
// Run it with `go test ./test/conformance` (every case on both sides as
// subtests, 9.x scaled down; -conformance.full for Autobahn's sizes) or
// `make conformance` (command cmd/conformance: the table per category and
// side, the 9.x timings, and a last line "N passed, M failed").
//
// The suite checks itself: its own tests run every case against a strict
// reference endpoint built on package wire, and against variants of it
// that each break one rule, which must fail the cases pinning it.
package conformance
