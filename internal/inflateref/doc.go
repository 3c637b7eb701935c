// Package inflateref is an independent reference decoder for DEFLATE
// (RFC 1951), written in the manner of zlib's puff.c, for tests and the
// conformance suite's oracle. Unlike compress/flate it checks every
// back-reference against the window two permessage-deflate peers agreed on
// (RFC 7692 §7.1.2), and it reports the longest distance a stream uses. It
// imports nothing but the standard library, so that it shares no code with
// the compressor it checks.
package inflateref
