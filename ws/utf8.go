package ws

import (
	"encoding/binary"
	"unicode/utf8"
)

// UTF8Validator checks UTF-8 incrementally: a code point may be split across
// calls to Write, and Write fails at the first byte that cannot be part of a
// valid sequence (an overlong form, a surrogate, a code point above U+10FFFF,
// a stray continuation byte), without waiting for the sequence to end. The
// zero value is ready to use.
type UTF8Validator struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // allowed range of the next continuation byte
	bad    bool
	pos    int64 // bytes accepted so far
}

// Reset makes v ready for a new text.
func (v *UTF8Validator) Reset() { *v = UTF8Validator{} }

// Pos returns the offset of the first invalid byte after Write failed, or the
// number of bytes accepted so far.
func (v *UTF8Validator) Pos() int64 { return v.pos }

// Complete reports whether the text seen so far ends on a code point
// boundary and contained no invalid byte.
func (v *UTF8Validator) Complete() bool { return !v.bad && v.need == 0 }

// Failed reports whether an invalid byte has been seen.
func (v *UTF8Validator) Failed() bool { return v.bad }

const asciiMask = 0x8080808080808080

// Write feeds p to the validator and reports whether everything so far is a
// valid prefix of UTF-8 text. After it returns false the validator stays
// failed until Reset.
func (v *UTF8Validator) Write(p []byte) bool {
	if v.bad {
		return false
	}
	if v.need != 0 {
		// Finish the code point the previous Write left open.
		k := min(int(v.need), len(p))
		if !v.write(p[:k]) {
			return false
		}
		p = p[k:]
	}
	if len(p) >= 16 {
		// Fast path: every code point but the last, which may be
		// incomplete, goes to utf8.Valid (same rules: no overlongs,
		// surrogates or values above U+10FFFF). Only when it fails does
		// the byte-wise machine run over p, to find the first bad byte.
		cut := len(p) - 1
		for cut > len(p)-4 && p[cut]&0xC0 == 0x80 {
			cut--
		}
		if utf8.Valid(p[:cut]) {
			v.pos += int64(cut)
			p = p[cut:]
		}
	}
	return v.write(p)
}

// write is the byte-wise validator; Write calls it where the fast path
// does not apply, and to locate an invalid byte exactly.
func (v *UTF8Validator) write(p []byte) bool {
	i := 0
	for i < len(p) {
		if v.need == 0 {
			// Fast path: eight ASCII bytes at a time.
			for i+8 <= len(p) && binary.LittleEndian.Uint64(p[i:])&asciiMask == 0 {
				i += 8
			}
			if i == len(p) {
				break
			}
			c := p[i]
			switch {
			case c < 0x80:
				i++
				continue
			case c >= 0xC2 && c <= 0xDF:
				v.need, v.lo, v.hi = 1, 0x80, 0xBF
			case c == 0xE0:
				v.need, v.lo, v.hi = 2, 0xA0, 0xBF
			case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
				v.need, v.lo, v.hi = 2, 0x80, 0xBF
			case c == 0xED:
				v.need, v.lo, v.hi = 2, 0x80, 0x9F // no surrogates
			case c == 0xF0:
				v.need, v.lo, v.hi = 3, 0x90, 0xBF
			case c >= 0xF1 && c <= 0xF3:
				v.need, v.lo, v.hi = 3, 0x80, 0xBF
			case c == 0xF4:
				v.need, v.lo, v.hi = 3, 0x80, 0x8F // nothing above U+10FFFF
			default: // 0x80–0xC1 and 0xF5–0xFF never start a sequence
				v.bad = true
				v.pos += int64(i)
				return false
			}
			i++
			continue
		}
		c := p[i]
		if c < v.lo || c > v.hi {
			v.bad = true
			v.pos += int64(i)
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xBF
		i++
	}
	v.pos += int64(len(p))
	return true
}
