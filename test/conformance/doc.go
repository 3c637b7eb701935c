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
// The raw side sends as a real peer does. Where a valid message is
// followed by a violation or a close (3.2–3.4, 4.1.3–4.2.5, 5.15, 7.1.1,
// 7.1.6), the message and the frames after it go out back to back, without
// waiting for the echo, in three ways: all in one write, one frame per
// write, one octet per write. The case keeps Autobahn's ID for the way
// Autobahn sends it; the others add "-write", "-frame" or "-chop". The
// message was whole before anything wrong arrived, so the echo must come
// first, then the close: a missing echo fails the case.
//
// Each wait for the implementation grows with the data the case has moved
// and is multiplied under the race detector, so a loaded machine does not
// fail a correct implementation, while a hung one still fails.
//
// Run it with `go test ./test/conformance` (every case on both sides as
// subtests, 9.x scaled down; -conformance.full for Autobahn's sizes) or
// `make conformance` (command cmd/conformance: the table per category and
// side, the 9.x timings, and a last line "N passed, M failed").
//
// The suite checks itself: its tests run every case against a strict
// reference endpoint built on package wire, and against variants of it
// that each break one rule, which must fail the cases pinning it.
package conformance
