package wire

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Opcodes of RFC 6455 §5.2.
const (
	OpCont   byte = 0x0
	OpText   byte = 0x1
	OpBinary byte = 0x2
	OpClose  byte = 0x8
	OpPing   byte = 0x9
	OpPong   byte = 0xA
)

// RSV1 is the reserved bit permessage-deflate uses, as a value of Frame.Rsv.
const RSV1 byte = 4

// OpName names an opcode for messages.
func OpName(op byte) string {
	switch op {
	case OpCont:
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
	return fmt.Sprintf("OPCODE(%d)", op)
}

// Frame is one frame. Rsv holds the three reserved bits as a number 0–7,
// RSV1 being 4 and RSV3 being 1 (the first header byte is
// FIN<<7 | Rsv<<4 | Opcode).
type Frame struct {
	Fin     bool
	Rsv     byte
	Opcode  byte
	Masked  bool
	Mask    [4]byte
	Payload []byte
}

func (f Frame) String() string {
	s := OpName(f.Opcode)
	if !f.Fin {
		s += " fin=0"
	}
	if f.Rsv != 0 {
		s += fmt.Sprintf(" rsv=%d", f.Rsv)
	}
	if f.Opcode == OpClose {
		if c, r, err := ParseClose(f.Payload); err == nil {
			if c == 0 {
				return s + " (no code)"
			}
			return s + fmt.Sprintf(" code=%d reason=%q", c, r)
		}
	}
	if len(f.Payload) <= 32 {
		return s + fmt.Sprintf(" payload=%q", f.Payload)
	}
	return s + fmt.Sprintf(" len=%d", len(f.Payload))
}

// Mask XORs b with key, starting at key index pos.
func Mask(key [4]byte, pos int, b []byte) {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
}

// Append appends the encoding of f to dst. When mask is true, a random
// masking key is chosen (f.Mask is ignored) and the payload is masked.
// The length always uses the minimal encoding.
func Append(dst []byte, f Frame, mask bool) []byte {
	b0 := f.Rsv<<4 | f.Opcode&0x0f
	if f.Fin {
		b0 |= 0x80
	}
	var m byte
	if mask {
		m = 0x80
	}
	n := len(f.Payload)
	switch {
	case n < 126:
		dst = append(dst, b0, m|byte(n))
	case n < 1<<16:
		dst = append(dst, b0, m|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, b0, m|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if !mask {
		return append(dst, f.Payload...)
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, f.Payload...)
	Mask(key, 0, dst[start:])
	return dst
}

// MaxPayload bounds what Reader accepts in one frame (the largest message
// of the suite is 16 MiB).
const MaxPayload = 64 << 20

// ErrTooLarge is returned for a frame larger than MaxPayload.
var ErrTooLarge = errors.New("wire: frame larger than the suite accepts")

// Reader reads frames.
type Reader struct {
	R *bufio.Reader
}

// ReadFrame reads one frame and unmasks its payload. Header encodings that
// RFC 6455 forbids (a non-minimal length, a 64-bit length with the top bit
// set) are errors.
func (r Reader) ReadFrame() (Frame, error) {
	var f Frame
	var h [2]byte
	if _, err := io.ReadFull(r.R, h[:]); err != nil {
		return f, err
	}
	f.Fin = h[0]&0x80 != 0
	f.Rsv = h[0] >> 4 & 7
	f.Opcode = h[0] & 0x0f
	f.Masked = h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r.R, b[:]); err != nil {
			return f, unexpected(err)
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
		if n < 126 {
			return f, fmt.Errorf("wire: 16-bit length %d is not minimally encoded", n)
		}
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r.R, b[:]); err != nil {
			return f, unexpected(err)
		}
		n = binary.BigEndian.Uint64(b[:])
		if n>>63 != 0 {
			return f, errors.New("wire: 64-bit length has the most significant bit set")
		}
		if n < 1<<16 {
			return f, fmt.Errorf("wire: 64-bit length %d is not minimally encoded", n)
		}
	}
	if n > MaxPayload {
		return f, ErrTooLarge
	}
	if f.Masked {
		if _, err := io.ReadFull(r.R, f.Mask[:]); err != nil {
			return f, unexpected(err)
		}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r.R, f.Payload); err != nil {
		return f, unexpected(err)
	}
	if f.Masked {
		Mask(f.Mask, 0, f.Payload)
	}
	return f, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ClosePayload builds a close frame payload: the code in network byte
// order, then the reason. Code 0 with an empty reason gives an empty
// payload; any code (valid or not) is encoded as given.
func ClosePayload(code int, reason string) []byte {
	if code == 0 && reason == "" {
		return nil
	}
	b := binary.BigEndian.AppendUint16(nil, uint16(code))
	return append(b, reason...)
}

// ParseClose splits a close payload. An empty payload gives code 0. A
// one-byte payload is an error.
func ParseClose(p []byte) (code int, reason string, err error) {
	switch len(p) {
	case 0:
		return 0, "", nil
	case 1:
		return 0, "", errors.New("one-byte close payload")
	}
	return int(binary.BigEndian.Uint16(p)), string(p[2:]), nil
}
