package inflateref

import "errors"

// huffman is a canonical Huffman code as in zlib's puff.c: how many codes
// there are of each length, and the symbols in code order.
type huffman struct {
	count  [16]int
	symbol []int
}

// build makes h the canonical code whose symbol i has code length
// lengths[i] (0 for a symbol that is not used). An over-subscribed set of
// lengths is an error; an incomplete one is allowed, as DEFLATE allows it
// for a code with a single symbol.
func (h *huffman) build(lengths []int) error {
	h.count = [16]int{}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= h.count[l]
		if left < 0 {
			return errors.New("inflateref: over-subscribed Huffman code")
		}
	}
	// offs[l] is the index of the first symbol with code length l.
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbol = make([]int, len(lengths))
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = sym
			offs[l]++
		}
	}
	return nil
}

// The base values and extra bits of the length and distance symbols
// (RFC 1951 §3.2.5), and the order the code length code's lengths are
// sent in (RFC 1951 §3.2.7).
var (
	lenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder   = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// fixedLit and fixedDist are the codes of blocks compressed with fixed
// Huffman codes (RFC 1951 §3.2.6).
var fixedLit, fixedDist = fixedCodes()

func fixedCodes() (lit, dist huffman) {
	var l [288]int
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
	var d [30]int
	for i := range d {
		d[i] = 5
	}
	if lit.build(l[:]) != nil || dist.build(d[:]) != nil {
		panic("inflateref: the fixed codes do not build")
	}
	return lit, dist
}
