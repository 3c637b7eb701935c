package compress

import (
	"math/bits"
	"slices"
)

// Deflate blocks with dynamic Huffman codes (RFC 1951 §3.2.7), written by
// the window encoder (lzEncoder). Tokens are literals (the byte) or
// matches (matchFlag | (length-3)<<16 | (distance-1)).

const (
	matchFlag   = 1 << 31
	numLitCodes = 286
	numDstCodes = 30
	numGenCodes = 19
	endOfBlock  = 256
)

// lenCode maps length-3 to its length code minus 257; distCode maps
// distance-1 (up to 32767) to its distance code, in two ranges as zlib
// does: below 256 directly, else by (distance-1)>>7.
var (
	lenCode  [256]uint8
	distCode [512]uint8
)

// genOrder is the order in which code length code lengths are sent.
var genOrder = [numGenCodes]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func init() {
	for c := range lengthBase {
		for l := int(lengthBase[c]); l < int(lengthBase[c])+1<<lengthExtra[c] && l <= maxMatch; l++ {
			lenCode[l-3] = uint8(c)
		}
	}
	lenCode[maxMatch-3] = 28
	for c := range offsetBase {
		for d := int(offsetBase[c]) - 1; d < int(offsetBase[c])-1+1<<offsetExtra[c]; d++ {
			if d < 256 {
				distCode[d] = uint8(c)
			} else {
				distCode[256+d>>7] = uint8(c)
			}
		}
	}
}

func distCodeOf(d uint32) uint8 {
	if d < 256 {
		return distCode[d]
	}
	return distCode[256+d>>7]
}

// huffScratch holds what writing one block needs: token and symbol
// counts, code lengths and codes. It is pooled with the token buffer.
type huffScratch struct {
	tokens   []uint32
	litFreq  [numLitCodes]uint32
	dstFreq  [numDstCodes]uint32
	litLen   [numLitCodes]uint8
	dstLen   [numDstCodes]uint8
	litCode  [numLitCodes]huffCode
	dstCode  [numDstCodes]huffCode
	genFreq  [numGenCodes]uint32
	genLen   [numGenCodes]uint8
	genCode  [numGenCodes]huffCode
	gen      [numLitCodes + numDstCodes]uint8 // code length symbols
	genExtra [numLitCodes + numDstCodes]uint8
	lens     [numLitCodes + numDstCodes]uint8

	// buildLengths' work space.
	keys   [numLitCodes]uint32
	weight [2 * numLitCodes]uint32
	parent [2 * numLitCodes]int16
	depth  [2 * numLitCodes]uint8
}

func (s *huffScratch) literal(b byte) {
	s.tokens = append(s.tokens, uint32(b))
	s.litFreq[b]++
}

func (s *huffScratch) match(length, dist int) {
	s.tokens = append(s.tokens, matchFlag|uint32(length-3)<<16|uint32(dist-1))
	s.litFreq[257+int(lenCode[length-3])]++
	s.dstFreq[distCodeOf(uint32(dist-1))]++
}

// resetCounts clears the tokens and counts for the next block.
func (s *huffScratch) resetCounts() {
	s.tokens = s.tokens[:0]
	clear(s.litFreq[:])
	clear(s.dstFreq[:])
}

// buildLengths sets lens to the lengths of a Huffman code of at most
// maxBits bits for the counts freq. The code is complete unless only one
// symbol occurs (it then has length 1).
func (s *huffScratch) buildLengths(freq []uint32, maxBits uint8, lens []uint8) {
	clear(lens)
	keys := s.keys[:0]
	for sym, f := range freq {
		if f != 0 {
			keys = append(keys, uint32(min(f, 1<<22))<<9|uint32(sym))
		}
	}
	n := len(keys)
	switch n {
	case 0:
		return
	case 1:
		lens[keys[0]&511] = 1
		return
	}
	slices.Sort(keys)
	// Two queues: the leaves in ascending order, then the internal nodes
	// in the order they are made (their weights never decrease).
	w, parent, depth := s.weight[:], s.parent[:], s.depth[:]
	for i, k := range keys {
		w[i] = k >> 9
	}
	leaf, node := 0, n
	for next := n; next < 2*n-1; next++ {
		var a, b int
		if leaf < n && (node >= next || w[leaf] <= w[node]) {
			a, leaf = leaf, leaf+1
		} else {
			a, node = node, node+1
		}
		if leaf < n && (node >= next || w[leaf] <= w[node]) {
			b, leaf = leaf, leaf+1
		} else {
			b, node = node, node+1
		}
		w[next] = w[a] + w[b]
		parent[a], parent[b] = int16(next), int16(next)
	}
	root := 2*n - 2
	depth[root] = 0
	deepest := uint8(0)
	for i := root - 1; i >= 0; i-- {
		depth[i] = depth[parent[i]] + 1
		if i < n {
			deepest = max(deepest, depth[i])
		}
	}
	if deepest > maxBits {
		limitLengths(depth[:n], maxBits)
	}
	for i, k := range keys {
		lens[k&511] = depth[i]
	}
}

// limitLengths caps the code lengths l (ordered by ascending frequency)
// at maxBits and restores a complete code.
func limitLengths(l []uint8, maxBits uint8) {
	var kraft, full uint64 = 0, 1 << maxBits
	for i := range l {
		l[i] = min(l[i], maxBits)
		kraft += 1 << (maxBits - l[i])
	}
	for kraft > full {
		// Lengthen the least frequent of the longest codes under maxBits.
		j := -1
		for i, v := range l {
			if v < maxBits && (j < 0 || v > l[j]) {
				j = i
			}
		}
		l[j]++
		kraft -= 1 << (maxBits - l[j])
	}
	for kraft < full {
		// Shorten the most frequent of the longest codes: the deficit is
		// a multiple of what that adds.
		j := 0
		for i, v := range l {
			if v >= l[j] {
				j = i
			}
		}
		kraft += 1 << (maxBits - l[j])
		l[j]--
	}
}

// assignCodes sets the canonical codes of the lengths, bit-reversed for
// writing least significant bit first.
func assignCodes(lens []uint8, codes []huffCode) {
	var count [16]uint16
	for _, l := range lens {
		if l != 0 { // most are: counting them all would chain the increments
			count[l]++
		}
	}
	var next [16]uint16
	code := uint16(0)
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for i, l := range lens {
		if l == 0 {
			continue // never written
		}
		codes[i] = huffCode{bits.Reverse16(next[l]) >> (16 - l), l}
		next[l]++
	}
}

// runLengths encodes the code lengths s.lens[:n] with the code length
// alphabet into s.gen and s.genExtra, counting the symbols, and returns
// how many symbols there are.
func (s *huffScratch) runLengths(n int) int {
	clear(s.genFreq[:])
	k := 0
	for i := 0; i < n; {
		v := s.lens[i]
		run := 1
		for i+run < n && s.lens[i+run] == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				r := min(run, 138)
				s.gen[k], s.genExtra[k] = 18, uint8(r-11)
				k++
				run -= r
			}
			if run >= 3 {
				s.gen[k], s.genExtra[k] = 17, uint8(run-3)
				k++
				run = 0
			}
		} else {
			s.gen[k] = v
			k++
			run--
			for run >= 3 {
				r := min(run, 6)
				s.gen[k], s.genExtra[k] = 16, uint8(r-3)
				k++
				run -= r
			}
		}
		for ; run > 0; run-- {
			s.gen[k] = v
			k++
		}
	}
	for _, sym := range s.gen[:k] {
		s.genFreq[sym]++
	}
	return k
}

// fixedDstLen is the length of every fixed distance code.
const fixedDstLen = 5

// writeBlock appends to w one non-final block holding s.tokens, the
// compressed form of raw: dynamic or fixed Huffman codes or stored,
// whichever is shortest.
func (s *huffScratch) writeBlock(w *bitWriter, raw []byte) {
	s.litFreq[endOfBlock]++
	defer s.resetCounts()
	s.buildLengths(s.litFreq[:], 15, s.litLen[:])
	if slices.Max(s.dstFreq[:]) == 0 {
		s.dstFreq[0] = 1 // a distance code must be sent
	}
	s.buildLengths(s.dstFreq[:], 15, s.dstLen[:])

	// The cost of the tokens' extra bits, which every coding pays.
	var extra, dynBits, fixBits uint64
	for c := 257; c < numLitCodes; c++ {
		extra += uint64(s.litFreq[c]) * uint64(lengthExtra[c-257])
	}
	for c := range numDstCodes {
		extra += uint64(s.dstFreq[c]) * uint64(offsetExtra[c])
		dynBits += uint64(s.dstFreq[c]) * uint64(s.dstLen[c])
		fixBits += uint64(s.dstFreq[c]) * fixedDstLen
	}
	for c := range numLitCodes {
		dynBits += uint64(s.litFreq[c]) * uint64(s.litLen[c])
		fixBits += uint64(s.litFreq[c]) * uint64(fixedLitCode[c].len)
	}

	nlit := numLitCodes
	for nlit > 257 && s.litLen[nlit-1] == 0 {
		nlit--
	}
	ndst := numDstCodes
	for ndst > 1 && s.dstLen[ndst-1] == 0 {
		ndst--
	}
	copy(s.lens[:], s.litLen[:nlit])
	copy(s.lens[nlit:], s.dstLen[:ndst])
	ngen := s.runLengths(nlit + ndst)
	s.buildLengths(s.genFreq[:], 7, s.genLen[:])
	if c := s.gen[0]; s.genFreq[c] == uint32(ngen) {
		// One symbol: inflaters such as zlib refuse an incomplete code
		// length code, so give a second symbol a code.
		other := 0
		if c == 0 {
			other = 1
		}
		s.genLen[other] = 1
	}
	nclen := numGenCodes
	for nclen > 4 && s.genLen[genOrder[nclen-1]] == 0 {
		nclen--
	}
	dynBits += 3 + 5 + 5 + 4 + 3*uint64(nclen)
	for c := range numGenCodes {
		dynBits += uint64(s.genFreq[c]) * uint64(s.genLen[c])
	}
	dynBits += 2*uint64(s.genFreq[16]) + 3*uint64(s.genFreq[17]) + 7*uint64(s.genFreq[18])
	fixBits += 3

	// Stored: the header, padding to a byte, LEN and NLEN, the bytes.
	storedBits := uint64(3+(8-(w.n+3)%8)%8) + 32 + 8*uint64(len(raw))
	switch {
	case len(raw) <= 0xffff && storedBits <= min(dynBits, fixBits)+extra:
		w.bits(0, 3)
		w.flush()
		n := len(raw)
		w.dst = append(w.dst, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		w.dst = append(w.dst, raw...)
	case fixBits <= dynBits:
		w.bits(0b010, 3)
		s.writeTokens(w, fixedLitCode[:], fixedDstCode[:])
	default:
		w.bits(0b100, 3)
		w.bits(uint64(nlit-257), 5)
		w.bits(uint64(ndst-1), 5)
		w.bits(uint64(nclen-4), 4)
		for _, c := range genOrder[:nclen] {
			w.bits(uint64(s.genLen[c]), 3)
		}
		assignCodes(s.genLen[:], s.genCode[:])
		for i, sym := range s.gen[:ngen] {
			w.code(s.genCode[sym])
			switch sym {
			case 16:
				w.bits(uint64(s.genExtra[i]), 2)
			case 17:
				w.bits(uint64(s.genExtra[i]), 3)
			case 18:
				w.bits(uint64(s.genExtra[i]), 7)
			}
		}
		assignCodes(s.litLen[:], s.litCode[:])
		assignCodes(s.dstLen[:], s.dstCode[:])
		s.writeTokens(w, s.litCode[:], s.dstCode[:])
	}
}

// fixedDstCode holds the fixed distance codes.
var fixedDstCode [numDstCodes]huffCode

func init() {
	for c := range fixedDstCode {
		fixedDstCode[c] = huffCode{uint16(bits.Reverse8(uint8(c)) >> 3), fixedDstLen}
	}
}

// writeTokens writes the tokens and the end of block with the codes.
func (s *huffScratch) writeTokens(w *bitWriter, lit, dst []huffCode) {
	for _, t := range s.tokens {
		if t&matchFlag == 0 {
			w.code(lit[t])
			continue
		}
		l := t >> 16 & 0xff
		lc := lenCode[l]
		w.code(lit[257+int(lc)])
		w.bits(uint64(l+3-uint32(lengthBase[lc])), uint(lengthExtra[lc]))
		d := t & 0xffff
		dc := distCodeOf(d)
		w.code(dst[dc])
		w.bits(uint64(d+1-uint32(offsetBase[dc])), uint(offsetExtra[dc]))
	}
	w.code(lit[endOfBlock])
}
