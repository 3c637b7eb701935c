package soak

import (
	"errors"
	"strconv"
)

// A message is ASCII text: a header naming the connection and the
// sequence number, "c00000042 s0000000007 ", then words chosen by a
// generator seeded with both, up to the message size. The text
// compresses about as well as prose, and every byte of an echo can be
// checked against what was sent.

// HeaderSize is the length of a message's header, the smallest message.
const HeaderSize = len("c00000000 s0000000000 ")

// words are the filler of a message.
var words = []string{
	"the", "socket", "frame", "echo", "load", "window", "deflate", "close",
	"message", "server", "client", "ping", "pong", "queue", "order", "stream",
	"of", "and", "to", "in", "a", "is", "that", "for", "with", "on", "data",
	"sequence", "handshake", "context", "buffer", "latency",
}

// errBadHeader is a message whose header does not parse.
var errBadHeader = errors.New("soak: message header does not parse")

// appendPayload appends the message seq of connection conn, size bytes
// long, to b.
func appendPayload(b []byte, conn int, seq uint64, size int) []byte {
	start := len(b)
	b = append(b, 'c')
	b = appendPadded(b, uint64(conn), 8)
	b = append(b, ' ', 's')
	b = appendPadded(b, seq, 10)
	b = append(b, ' ')
	x := uint64(conn)<<40 ^ seq
	for len(b)-start < size {
		x = splitmix(x)
		b = append(b, words[x%uint64(len(words))]...)
		b = append(b, ' ')
	}
	return b[:start+size]
}

// parseHeader returns the connection and sequence number of a message.
func parseHeader(p []byte) (conn int, seq uint64, err error) {
	if len(p) < HeaderSize || p[0] != 'c' || p[9] != ' ' || p[10] != 's' || p[21] != ' ' {
		return 0, 0, errBadHeader
	}
	c, err := strconv.ParseUint(string(p[1:9]), 10, 64)
	if err != nil {
		return 0, 0, errBadHeader
	}
	s, err := strconv.ParseUint(string(p[11:21]), 10, 64)
	if err != nil {
		return 0, 0, errBadHeader
	}
	return int(c), s, nil
}

// appendPadded appends v in decimal, zero-padded to width digits (v must
// fit: the connection and sequence numbers of a run do, by far).
func appendPadded(b []byte, v uint64, width int) []byte {
	var d [20]byte
	s := strconv.AppendUint(d[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// splitmix is one step of the SplitMix64 generator.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
