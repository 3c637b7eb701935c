package ws

import (
	"encoding/binary"
	"math/bits"
)

// Mask XORs b in place with the masking key, as RFC 6455 §5.3 describes, and
// returns the key position after b, so that a payload can be masked in
// several pieces: pass 0 for the first piece and the returned value for the
// next. It works eight bytes at a time, with the key rotated to pos, so an
// unaligned position costs nothing.
func Mask(key [4]byte, pos int, b []byte) int {
	pos &= 3
	if len(b) >= 4 {
		// Byte j of a little-endian word meets key[(pos+j)&3]; whole
		// words leave the position unchanged.
		k32 := bits.RotateLeft32(binary.LittleEndian.Uint32(key[:]), -8*pos)
		k := uint64(k32) | uint64(k32)<<32
		for len(b) >= 64 {
			v := b[:64]
			binary.LittleEndian.PutUint64(v[0:], binary.LittleEndian.Uint64(v[0:])^k)
			binary.LittleEndian.PutUint64(v[8:], binary.LittleEndian.Uint64(v[8:])^k)
			binary.LittleEndian.PutUint64(v[16:], binary.LittleEndian.Uint64(v[16:])^k)
			binary.LittleEndian.PutUint64(v[24:], binary.LittleEndian.Uint64(v[24:])^k)
			binary.LittleEndian.PutUint64(v[32:], binary.LittleEndian.Uint64(v[32:])^k)
			binary.LittleEndian.PutUint64(v[40:], binary.LittleEndian.Uint64(v[40:])^k)
			binary.LittleEndian.PutUint64(v[48:], binary.LittleEndian.Uint64(v[48:])^k)
			binary.LittleEndian.PutUint64(v[56:], binary.LittleEndian.Uint64(v[56:])^k)
			b = b[64:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
			b = b[8:]
		}
		if len(b) >= 4 {
			binary.LittleEndian.PutUint32(b, binary.LittleEndian.Uint32(b)^k32)
			b = b[4:]
		}
	}
	for i := range b {
		b[i] ^= key[pos]
		pos = (pos + 1) & 3
	}
	return pos
}

// maskBytewise is the reference implementation of Mask, one byte at a time.
// Tests check that Mask agrees with it; benchmarks compare the two.
func maskBytewise(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}
