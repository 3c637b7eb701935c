// Package wire is the conformance suite's own minimal WebSocket framing:
// a frame writer and reader, the opening handshake, close payloads and
// permessage-deflate (compress/flate, a small LZ77 encoder for windows
// under 32 KiB, and an audit of back-reference distances against the
// agreed window). It is written from RFC 6455 and RFC 7692 and imports
// nothing of tether's library, so that a bug in tether's ws package cannot
// hide itself behind the same bug in the test driver. The one tether
// package it uses is the reference DEFLATE decoder internal/inflateref,
// which depends on the standard library alone.
package wire
