package ws

import (
	"encoding/binary"
	"errors"
)

// Opcode is the 4-bit frame type of RFC 6455 §5.2.
type Opcode byte

// The opcodes defined by RFC 6455.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (close, ping, pong or a
// reserved control opcode).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// IsData reports whether op is a data opcode (continuation, text, binary).
func (op Opcode) IsData() bool { return op == OpContinuation || op == OpText || op == OpBinary }

// Valid reports whether op is one of the six opcodes RFC 6455 defines.
func (op Opcode) Valid() bool {
	switch op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

// String returns the opcode's name, e.g. "TEXT".
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "CONT"
	case OpText:
		return "TEXT"
	case OpBinary:
		return "BINARY"
	case OpClose:
		return "CLOSE"
	case OpPing:
		return "PING"
	case OpPong:
		return "PONG"
	}
	return "OPCODE(" + itoa(int64(op)) + ")"
}

// The reserved bits of the first header byte.
const (
	RSV1 byte = 0x40
	RSV2 byte = 0x20
	RSV3 byte = 0x10
)

// MaxControlPayload is the largest payload a control frame may carry.
const MaxControlPayload = 125

// MaxHeaderSize is the largest encoded frame header: 2 bytes, an 8-byte
// length and a 4-byte masking key.
const MaxHeaderSize = 14

// Header is a decoded frame header.
type Header struct {
	Fin    bool
	Rsv    byte // RSV1|RSV2|RSV3 bits, in their wire positions
	Opcode Opcode
	Masked bool
	Mask   [4]byte
	Length int64 // payload length
}

// ErrNeedMore is returned by the parsers of this package when the input ends
// before a complete item. It is a signal, not a failure: feed more bytes.
var ErrNeedMore = errors.New("ws: need more bytes")

// ErrLengthOverflow is returned by ParseHeader for a 64-bit payload length
// with the most significant bit set (RFC 6455 §5.2).
var ErrLengthOverflow = errors.New("ws: payload length has the most significant bit set")

// ErrNonMinimalLength is returned by ParseHeader for a length that is not
// encoded in the fewest bytes (RFC 6455 §5.2: "the minimal number of bytes
// MUST be used").
var ErrNonMinimalLength = errors.New("ws: payload length not minimally encoded")

// ParseHeader decodes the frame header at the start of b. It returns the
// header and its encoded size. When b holds only part of a header it returns
// ErrNeedMore and does not allocate. It checks only the encoding of the
// length; the Protocol applies the other frame rules.
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, ErrNeedMore
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.Rsv = b0 & (RSV1 | RSV2 | RSV3)
	h.Opcode = Opcode(b0 & 0x0f)
	h.Masked = b1&0x80 != 0
	n = 2
	switch l := b1 & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, ErrNeedMore
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
		if h.Length < 126 {
			return h, n, ErrNonMinimalLength
		}
	case 127:
		if len(b) < 10 {
			return h, 0, ErrNeedMore
		}
		v := binary.BigEndian.Uint64(b[2:10])
		n = 10
		if v>>63 != 0 {
			return h, n, ErrLengthOverflow
		}
		if v < 1<<16 {
			return h, n, ErrNonMinimalLength
		}
		h.Length = int64(v)
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, ErrNeedMore
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// HeaderSize returns the encoded size of a header with this payload length
// and masking.
func HeaderSize(length int64, masked bool) int {
	n := 2
	switch {
	case length >= 1<<16:
		n = 10
	case length >= 126:
		n = 4
	}
	if masked {
		n += 4
	}
	return n
}

// AppendHeader appends the encoding of h to dst, using the minimal length
// encoding, and returns the extended slice.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := byte(h.Opcode&0x0f) | h.Rsv&(RSV1|RSV2|RSV3)
	if h.Fin {
		b0 |= 0x80
	}
	var m byte
	if h.Masked {
		m = 0x80
	}
	switch {
	case h.Length < 126:
		dst = append(dst, b0, m|byte(h.Length))
	case h.Length < 1<<16:
		dst = append(dst, b0, m|126, byte(h.Length>>8), byte(h.Length))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// itoa formats n without fmt, for use on paths that must not allocate much.
func itoa(n int64) string {
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
