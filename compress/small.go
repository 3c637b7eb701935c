package compress

import (
	"encoding/binary"
	"math/bits"
)

// smallMax is the size under which a message sent in one frame is
// compressed by encodeSmall. klauspost/compress does not look for matches
// in blocks under 128 bytes (it stores them or uses Huffman coding only),
// which loses all the benefit of context takeover on short messages.
const smallMax = 128

const (
	smallHashBits = 10
	smallMinMatch = 4
	maxMatch      = 258
)

func smallHash(u uint32) uint32 { return u * 2654435761 >> (32 - smallHashBits) }

// encodeSmall appends to dst the deflate encoding of msg, len(msg) <
// smallMax, as a fixed-Huffman block followed by a sync flush, with
// back-references into hist (the bytes before msg) and msg itself of at
// most window bytes. It falls back to a stored block when that is shorter.
func encodeSmall(dst, hist, msg []byte, window int) []byte {
	if len(hist) > window {
		hist = hist[len(hist)-window:]
	}
	var last [1 << smallHashBits]int32 // latest position + 1 of a 4-byte hash in hist ++ msg
	if len(msg) >= smallMinMatch && len(hist) > 0 {
		// Index only the positions of hist whose 4 bytes may start a
		// match: the hashes that occur in msg.
		var want [1 << smallHashBits / 64]uint64
		for i := 0; i+smallMinMatch <= len(msg); i++ {
			h := smallHash(binary.LittleEndian.Uint32(msg[i:]))
			want[h/64] |= 1 << (h % 64)
		}
		for p := 0; p+smallMinMatch <= len(hist); p++ {
			h := smallHash(binary.LittleEndian.Uint32(hist[p:]))
			if want[h/64]&(1<<(h%64)) != 0 {
				last[h] = int32(p + 1)
			}
		}
	}
	// The 3 bytes at the end of hist cannot be hashed with the 4 bytes of
	// a position; positions straddling hist and msg are indexed below.
	at := func(q int) byte { // byte q of hist ++ msg
		if q < len(hist) {
			return hist[q]
		}
		return msg[q-len(hist)]
	}
	load := func(q int) uint32 {
		return uint32(at(q)) | uint32(at(q+1))<<8 | uint32(at(q+2))<<16 | uint32(at(q+3))<<24
	}
	for q := max(0, len(hist)-3); q < len(hist) && q+smallMinMatch <= len(hist)+len(msg); q++ {
		last[smallHash(load(q))] = int32(q + 1)
	}

	var w bitWriter
	w.dst = dst
	w.bits(0b010, 3) // BFINAL=0, BTYPE=01 (fixed Huffman)
	total := len(hist) + len(msg)
	for i := 0; i < len(msg); {
		q := len(hist) + i
		if i+smallMinMatch <= len(msg) {
			h := smallHash(load(q))
			c := int(last[h]) - 1
			last[h] = int32(q + 1)
			if c >= 0 && q-c <= window && load(c) == load(q) {
				n := smallMinMatch
				for q+n < total && n < maxMatch && at(c+n) == at(q+n) {
					n++
				}
				w.match(n, q-c)
				for j := q + 1; j < q+n && j+smallMinMatch <= total; j++ {
					last[smallHash(load(j))] = int32(j + 1)
				}
				i += n
				continue
			}
		}
		w.literal(msg[i])
		i++
	}
	w.code(fixedLitCode[256]) // end of block
	w.bits(0, 3)              // an empty stored block: the sync flush
	w.flush()
	out := append(w.dst, 0x00, 0x00, 0xff, 0xff)
	if stored := len(msg) + 5 + 5; len(out)-len(dst) > stored {
		out = append(dst, 0x00, byte(len(msg)), byte(len(msg)>>8), ^byte(len(msg)), ^byte(len(msg)>>8))
		out = append(out, msg...)
		out = append(out, 0x00, 0x00, 0x00, 0xff, 0xff)
	}
	return out
}

// huffCode is a Huffman code, bit-reversed for writing LSB first.
type huffCode struct {
	code uint16
	len  uint8
}

var fixedLitCode [286]huffCode

func init() {
	for v := range fixedLitCode {
		var c, n int
		switch {
		case v < 144:
			c, n = 0x30+v, 8
		case v < 256:
			c, n = 0x190+v-144, 9
		case v < 280:
			c, n = v-256, 7
		default:
			c, n = 0xc0+v-280, 8
		}
		fixedLitCode[v] = huffCode{uint16(bits.Reverse16(uint16(c)) >> (16 - n)), uint8(n)}
	}
}

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	offsetBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	offsetExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// bitWriter writes deflate bits, least significant first. Up to 31 bits
// wait in acc; a call adds at most 32.
type bitWriter struct {
	dst []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	if w.n >= 32 {
		w.dst = append(w.dst, byte(w.acc), byte(w.acc>>8), byte(w.acc>>16), byte(w.acc>>24))
		w.acc >>= 32
		w.n -= 32
	}
}

func (w *bitWriter) code(c huffCode) { w.bits(uint64(c.code), uint(c.len)) }

func (w *bitWriter) literal(b byte) { w.code(fixedLitCode[b]) }

func (w *bitWriter) match(length, dist int) {
	li := 28
	for int(lengthBase[li]) > length {
		li--
	}
	w.code(fixedLitCode[257+li])
	w.bits(uint64(length-int(lengthBase[li])), uint(lengthExtra[li]))
	di := 29
	for int(offsetBase[di]) > dist {
		di--
	}
	w.bits(uint64(bits.Reverse8(uint8(di))>>3), 5) // fixed 5-bit distance code
	w.bits(uint64(dist-int(offsetBase[di])), uint(offsetExtra[di]))
}

// flush writes the pending bits, padding the last byte with zero bits.
func (w *bitWriter) flush() {
	for w.n > 0 {
		w.dst = append(w.dst, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	w.acc = 0
}
