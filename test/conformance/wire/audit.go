package wire

import (
	"errors"
	"fmt"
)

// MaxDistance parses a DEFLATE stream (RFC 1951) without producing output
// and returns the longest back-reference distance it uses. It stops at the
// end of the input on a block boundary or after a final block. It exists
// because compress/flate checks distances only against the data it has,
// not against the window the two peers agreed on (RFC 7692 §7.1.2).
func MaxDistance(in []byte) (int, error) {
	r := bitReader{in: in}
	maxDist := 0
	for {
		if r.pos >= len(in) {
			return maxDist, nil
		}
		last, err := r.bits(1)
		if err != nil {
			return maxDist, err
		}
		typ, err := r.bits(2)
		if err != nil {
			return maxDist, err
		}
		switch typ {
		case 0:
			if r.bit != 0 { // skip to the byte boundary
				r.bit = 0
				r.pos++
			}
			if r.pos+4 > len(in) {
				return maxDist, errors.New("deflate: truncated stored block header")
			}
			n := int(in[r.pos]) | int(in[r.pos+1])<<8
			nn := int(in[r.pos+2]) | int(in[r.pos+3])<<8
			if n != ^nn&0xffff {
				return maxDist, errors.New("deflate: stored block LEN/NLEN mismatch")
			}
			r.pos += 4 + n
			if r.pos > len(in) {
				return maxDist, errors.New("deflate: truncated stored block")
			}
		case 1:
			if err := r.codes(&fixedLit, &fixedDist, &maxDist); err != nil {
				return maxDist, err
			}
		case 2:
			var lit, dist huffman
			if err := r.dynamic(&lit, &dist); err != nil {
				return maxDist, err
			}
			if err := r.codes(&lit, &dist, &maxDist); err != nil {
				return maxDist, err
			}
		default:
			return maxDist, errors.New("deflate: invalid block type 3")
		}
		if last == 1 {
			return maxDist, nil
		}
	}
}

type bitReader struct {
	in  []byte
	pos int  // byte position
	bit uint // bit position within in[pos]
}

var errTruncated = errors.New("deflate: truncated stream")

func (r *bitReader) bits(n uint) (uint32, error) {
	var v uint32
	for got := uint(0); got < n; {
		if r.pos >= len(r.in) {
			return 0, errTruncated
		}
		take := min(n-got, 8-r.bit)
		v |= uint32(r.in[r.pos]>>r.bit&(1<<take-1)) << got
		got += take
		r.bit += take
		if r.bit == 8 {
			r.bit = 0
			r.pos++
		}
	}
	return v, nil
}

// huffman is a canonical code as in zlib's puff.c: count of codes per
// length and symbols in code order.
type huffman struct {
	count  [16]int
	symbol []int
}

func (h *huffman) build(lengths []int) {
	h.count = [16]int{}
	for _, l := range lengths {
		h.count[l]++
	}
	h.count[0] = 0
	// offs[l] is the index of the first symbol with code length l.
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbol = make([]int, len(lengths))
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = s
			offs[l]++
		}
	}
}

func (r *bitReader) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := r.bits(1)
		if err != nil {
			return 0, err
		}
		code |= int(b)
		count := h.count[l]
		if code-count < first {
			return h.symbol[index+code-first], nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errors.New("deflate: invalid Huffman code")
}

var fixedLit, fixedDist huffman

func init() {
	l := make([]int, 288)
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	fixedLit.build(l)
	d := make([]int, 30)
	for i := range d {
		d[i] = 5
	}
	fixedDist.build(d)
}

var clOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func (r *bitReader) dynamic(lit, dist *huffman) error {
	hlit, err := r.bits(5)
	if err != nil {
		return err
	}
	hdist, err := r.bits(5)
	if err != nil {
		return err
	}
	hclen, err := r.bits(4)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(hlit)+257, int(hdist)+1, int(hclen)+4
	if nlen > 286 || ndist > 30 {
		return errors.New("deflate: bad code counts")
	}
	cl := make([]int, 19)
	for i := range ncode {
		v, err := r.bits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = int(v)
	}
	var lencode huffman
	lencode.build(cl)
	lengths := make([]int, nlen+ndist)
	for i := 0; i < nlen+ndist; {
		sym, err := r.decode(&lencode)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = sym
			i++
			continue
		}
		val, rep := 0, 0
		switch sym {
		case 16:
			if i == 0 {
				return errors.New("deflate: repeat with no previous length")
			}
			val = lengths[i-1]
			x, err := r.bits(2)
			if err != nil {
				return err
			}
			rep = 3 + int(x)
		case 17:
			x, err := r.bits(3)
			if err != nil {
				return err
			}
			rep = 3 + int(x)
		default:
			x, err := r.bits(7)
			if err != nil {
				return err
			}
			rep = 11 + int(x)
		}
		if i+rep > nlen+ndist {
			return errors.New("deflate: too many lengths")
		}
		for range rep {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errors.New("deflate: no end-of-block code")
	}
	lit.build(lengths[:nlen])
	dist.build(lengths[nlen:])
	return nil
}

func (r *bitReader) codes(lit, dist *huffman, maxDist *int) error {
	for {
		sym, err := r.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return fmt.Errorf("deflate: invalid length symbol %d", sym)
		}
		if _, err := r.bits(lenExtra[sym-257]); err != nil {
			return err
		}
		ds, err := r.decode(dist)
		if err != nil {
			return err
		}
		if ds >= 30 {
			return fmt.Errorf("deflate: invalid distance symbol %d", ds)
		}
		x, err := r.bits(distExtra[ds])
		if err != nil {
			return err
		}
		if d := distBase[ds] + int(x); d > *maxDist {
			*maxDist = d
		}
	}
}
