package compress

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// The window encoder. klauspost/compress has one encoder that honours a
// window under 32 KiB, and loading a connection's history into it costs
// as much as compressing the history: it runs the whole match search
// over the dictionary and throws the result away. lzEncoder is this
// package's own LZ77 matcher for windows of 2^8 to 2^14 bytes (hash
// chains with lazy matching, as zlib's levels 4 to 9 do), writing blocks
// with dynamic Huffman codes (huffman.go). Loading a history only hashes
// it into the chains, and a busy connection may keep its encoder between
// messages (Options.BusyEncoders), which then loads nothing at all. It
// is small: 2^(bits+1) bytes of chains, 2^(bits+1) of buffer and a 16 KiB
// hash table (32 KiB at 12 bits); the token buffer and the Huffman tables
// are borrowed per message.

const (
	lzHashBits = 12
	lzMinMatch = 4
	// lzBlockTokens is how many tokens a block holds before it is
	// written (a message longer than that is sent in several blocks).
	lzBlockTokens = 16 << 10
)

// lzParams are the match search limits of a level, as zlib's.
type lzParams struct {
	good  int // a match this long cuts the search at the next position to a quarter
	lazy  int // a match this long is taken without looking at the next position
	nice  int // a match this long ends the search
	chain int // candidates examined per position
}

// lzLevels holds the limits of levels 1 to 9 (index 0 is unused).
var lzLevels = [10]lzParams{
	1: {4, 4, 8, 4},
	2: {4, 5, 16, 8},
	3: {4, 6, 32, 32},
	4: {4, 4, 16, 16},
	5: {8, 16, 32, 32},
	6: {8, 16, 128, 128},
	7: {8, 32, 128, 256},
	8: {32, 128, 258, 1024},
	9: {32, 258, 258, 4096},
}

// lzEncoder compresses with a window of w bytes. It holds the last w
// bytes it compressed (or was loaded with) and their hash chains, so it
// continues a connection's stream where it left off.
type lzEncoder struct {
	w    int32
	bits int
	p    lzParams
	buf  []byte // capacity 2w; buf[i] is at absolute position pos0+i
	pos0 int32
	// indexed: the positions of buf before it are in the chains.
	indexed int
	// head is the latest absolute position of each hash; an entry more
	// than w behind the position being encoded is stale.
	head [1 << lzHashBits]int32
	// prev, at an absolute position modulo w, is the distance back to
	// the previous position with the same hash, 0 if none in the window.
	prev []uint16
}

// lzPools holds encoders by window bits.
var lzPools [15]sync.Pool

// getLz returns an encoder for windows of 2^bits bytes at the level,
// loaded with hist.
func getLz(bits, level int, hist []byte) *lzEncoder {
	e, _ := lzPools[bits].Get().(*lzEncoder)
	if e == nil {
		w := 1 << bits
		e = &lzEncoder{w: int32(w), bits: bits, buf: make([]byte, 0, 2*w), prev: make([]uint16, w)}
		e.pos0 = e.w + 1
	}
	e.p = lzLevels[max(level, BestSpeed)]
	e.load(hist)
	return e
}

func putLz(e *lzEncoder) { lzPools[e.bits].Put(e) }

// load makes hist, or its last w bytes, the history.
func (e *lzEncoder) load(hist []byte) {
	// Past the window from every position indexed so far: their chains
	// are stale.
	next := e.pos0 + int32(len(e.buf)) + e.w + 1
	if next > 1<<30 {
		clear(e.head[:])
		next = e.w + 1
	}
	e.pos0 = next
	if len(hist) > int(e.w) {
		hist = hist[len(hist)-int(e.w):]
	}
	e.buf = append(e.buf[:0], hist...)
	e.indexed = 0
	e.index(len(e.buf) - (lzMinMatch - 1))
}

func lzHash(u uint32) uint32 { return u * 2654435761 >> (32 - lzHashBits) }

// insert adds position i of buf (which has 4 bytes from i) to the chains
// and returns the previous head of its hash.
func (e *lzEncoder) insert(i int) int32 {
	h := lzHash(binary.LittleEndian.Uint32(e.buf[i:]))
	p := e.pos0 + int32(i)
	old := e.head[h]
	d := p - old
	if d > e.w {
		d = 0
	}
	e.prev[p&(e.w-1)] = uint16(d)
	e.head[h] = p
	return old
}

// index inserts the positions from e.indexed up to end.
func (e *lzEncoder) index(end int) {
	for i := e.indexed; i < end; i++ {
		e.insert(i)
	}
	e.indexed = max(e.indexed, end)
}

// slide keeps the last w bytes of a full buffer.
func (e *lzEncoder) slide() {
	shift := len(e.buf) - int(e.w)
	copy(e.buf, e.buf[shift:])
	e.buf = e.buf[:e.w]
	e.indexed -= shift
	if e.pos0 += int32(shift); e.pos0 > 1<<30 {
		clear(e.head[:])
		clear(e.prev)
		e.pos0 = e.w + 1
		e.indexed = 0
		e.index(len(e.buf) - (lzMinMatch - 1))
	}
}

var huffPool = sync.Pool{New: func() any {
	return &huffScratch{tokens: make([]uint32, 0, lzBlockTokens+1<<15)}
}}

// encode appends msg compressed, ending with a sync flush, to dst.
func (e *lzEncoder) encode(dst, msg []byte) []byte {
	s := huffPool.Get().(*huffScratch)
	w := bitWriter{dst: dst}
	start := 0 // of the block being built, in msg
	for done := 0; done < len(msg); {
		if len(e.buf) == cap(e.buf) {
			e.slide()
		}
		n := min(len(msg)-done, cap(e.buf)-len(e.buf))
		p0 := len(e.buf)
		e.buf = append(e.buf, msg[done:done+n]...)
		e.tokenize(s, p0)
		done += n
		if len(s.tokens) >= lzBlockTokens || done == len(msg) {
			s.writeBlock(&w, msg[start:done])
			start = done
		}
	}
	huffPool.Put(s)
	w.bits(0, 3) // an empty stored block: the sync flush
	w.flush()
	return append(w.dst, 0x00, 0x00, 0xff, 0xff)
}

// tokenize turns buf[p0:] into tokens, with lazy matching as zlib's
// deflate_slow.
func (e *lzEncoder) tokenize(s *huffScratch, p0 int) {
	buf := e.buf
	end := len(buf)
	e.index(min(p0, end-(lzMinMatch-1)))
	prevLen, prevDist := 0, 0
	pending := false // buf[i-1] is not yet emitted
	i := p0
	for i < end {
		curLen, curDist := 0, 0
		if i+lzMinMatch <= end {
			cand := e.insert(i)
			e.indexed = i + 1
			if prevLen < e.p.lazy {
				curLen, curDist = e.longest(i, cand, prevLen)
			}
		}
		if prevLen >= lzMinMatch && curLen <= prevLen {
			s.match(prevLen, prevDist)
			stop := i - 1 + prevLen
			e.index(min(stop, end-(lzMinMatch-1)))
			i = stop
			prevLen, pending = 0, false
			continue
		}
		if pending {
			s.literal(buf[i-1])
		}
		prevLen, prevDist, pending = curLen, curDist, true
		i++
	}
	if pending {
		if prevLen >= lzMinMatch {
			s.match(prevLen, prevDist)
		} else {
			s.literal(buf[i-1])
		}
	}
}

// longest returns the longest match longer than prevLen at position i of
// buf among the chain from cand, or 0.
func (e *lzEncoder) longest(i int, cand int32, prevLen int) (int, int) {
	buf := e.buf
	limit := min(maxMatch, len(buf)-i)
	best := max(prevLen, lzMinMatch-1)
	if best >= limit {
		return 0, 0
	}
	chain := e.p.chain
	if prevLen >= e.p.good {
		chain >>= 2
	}
	p := e.pos0 + int32(i)
	low := max(p-e.w, e.pos0)
	dist := 0
	cur := buf[i : i+limit]
	for ; chain > 0 && cand >= low; chain-- {
		c := int(cand - e.pos0)
		if buf[c+best] == cur[best] {
			if n := matchLen(buf[c:], cur); n > best {
				best, dist = n, i-c
				if n >= e.p.nice || n == limit {
					break
				}
			}
		}
		d := e.prev[cand&(e.w-1)]
		if d == 0 {
			break
		}
		cand -= int32(d)
	}
	if dist == 0 {
		return 0, 0
	}
	return best, dist
}

// matchLen returns how many bytes a and b have in common from the start,
// at most len(b); len(a) >= len(b).
func matchLen(a, b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
