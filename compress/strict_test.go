package compress

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"testing"
)

// strictInflate is a small, independent RFC 1951 decoder in the manner of
// zlib's puff.c, for tests. It decodes data that ends on a block boundary
// (sync-flushed or final), with hist as the bytes before it, and fails on
// any back-reference farther than window bytes. It returns the output and
// the largest distance seen.
func strictInflate(hist, data []byte, window int) ([]byte, int, error) {
	if len(hist) > 1<<15 {
		hist = hist[len(hist)-1<<15:] // no distance reaches further
	}
	s := &strict{in: data, out: append([]byte(nil), hist...), window: window}
	start := len(s.out)
	err := s.run()
	return s.out[start:], s.maxDist, err
}

type strict struct {
	in      []byte
	pos     int
	bitbuf  uint64
	bitcnt  uint
	out     []byte
	window  int
	maxDist int
}

var errStrictEOF = errors.New("strict: unexpected end of data")

func (s *strict) bits(n uint) (int, error) {
	for s.bitcnt < n {
		if s.pos >= len(s.in) {
			return 0, errStrictEOF
		}
		s.bitbuf |= uint64(s.in[s.pos]) << s.bitcnt
		s.pos++
		s.bitcnt += 8
	}
	v := int(s.bitbuf & (1<<n - 1))
	s.bitbuf >>= n
	s.bitcnt -= n
	return v, nil
}

func (s *strict) run() error {
	for {
		if s.pos == len(s.in) && s.bitcnt < 8 && s.bitbuf == 0 {
			return nil // ended on a block boundary (after padding)
		}
		final, err := s.bits(1)
		if err != nil {
			return err
		}
		typ, err := s.bits(2)
		if err != nil {
			return err
		}
		switch typ {
		case 0:
			err = s.stored()
		case 1:
			err = s.codes(&fixedLit, &fixedDist)
		case 2:
			err = s.dynamic()
		default:
			err = errors.New("strict: invalid block type")
		}
		if err != nil {
			return err
		}
		if final == 1 {
			if s.pos != len(s.in) {
				return errors.New("strict: data after the final block")
			}
			return nil
		}
	}
}

func (s *strict) stored() error {
	s.bitbuf, s.bitcnt = 0, 0
	if s.pos+4 > len(s.in) {
		return errStrictEOF
	}
	n := int(s.in[s.pos]) | int(s.in[s.pos+1])<<8
	nn := int(s.in[s.pos+2]) | int(s.in[s.pos+3])<<8
	if n != ^nn&0xffff {
		return errors.New("strict: stored block length mismatch")
	}
	s.pos += 4
	if s.pos+n > len(s.in) {
		return errStrictEOF
	}
	s.out = append(s.out, s.in[s.pos:s.pos+n]...)
	s.pos += n
	return nil
}

type huffman struct {
	count  [16]int
	symbol []int
}

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
			return errors.New("strict: over-subscribed code")
		}
	}
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

func (s *strict) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := s.bits(1)
		if err != nil {
			return 0, err
		}
		code |= b
		count := h.count[l]
		if code-count < first {
			return h.symbol[index+code-first], nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errors.New("strict: invalid code")
}

var (
	lenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	fixedLit, fixedDist huffman
)

func init() {
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
	_ = fixedLit.build(l[:])
	var d [30]int
	for i := range d {
		d[i] = 5
	}
	_ = fixedDist.build(d[:])
}

func (s *strict) codes(lit, dist *huffman) error {
	for {
		sym, err := s.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			s.out = append(s.out, byte(sym))
			continue
		case sym == 256:
			return nil
		}
		sym -= 257
		if sym >= 29 {
			return errors.New("strict: invalid length symbol")
		}
		e, err := s.bits(lenExtra[sym])
		if err != nil {
			return err
		}
		n := lenBase[sym] + e
		ds, err := s.decode(dist)
		if err != nil {
			return err
		}
		if ds >= 30 {
			return errors.New("strict: invalid distance symbol")
		}
		e, err = s.bits(distExtra[ds])
		if err != nil {
			return err
		}
		d := distBase[ds] + e
		if d > s.window {
			return fmt.Errorf("strict: distance %d beyond the %d-byte window", d, s.window)
		}
		if d > len(s.out) {
			return fmt.Errorf("strict: distance %d beyond the %d bytes of history", d, len(s.out))
		}
		s.maxDist = max(s.maxDist, d)
		for range n {
			s.out = append(s.out, s.out[len(s.out)-d])
		}
	}
}

var clOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func (s *strict) dynamic() error {
	nlen, err := s.bits(5)
	if err != nil {
		return err
	}
	ndist, err := s.bits(5)
	if err != nil {
		return err
	}
	ncode, err := s.bits(4)
	if err != nil {
		return err
	}
	nlen, ndist, ncode = nlen+257, ndist+1, ncode+4
	if nlen > 286 || ndist > 30 {
		return errors.New("strict: bad counts")
	}
	var lengths [320]int
	for i := range ncode {
		v, err := s.bits(3)
		if err != nil {
			return err
		}
		lengths[clOrder[i]] = v
	}
	var lencode huffman
	if err := lencode.build(lengths[:19]); err != nil {
		return err
	}
	lengths = [320]int{}
	for i := 0; i < nlen+ndist; {
		sym, err := s.decode(&lencode)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = sym
			i++
			continue
		}
		var rep, val int
		switch sym {
		case 16:
			if i == 0 {
				return errors.New("strict: repeat with no first length")
			}
			val = lengths[i-1]
			rep, err = s.bits(2)
			rep += 3
		case 17:
			rep, err = s.bits(3)
			rep += 3
		default:
			rep, err = s.bits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+rep > nlen+ndist {
			return errors.New("strict: too many lengths")
		}
		for range rep {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errors.New("strict: no end-of-block code")
	}
	var lit, dist huffman
	if err := lit.build(lengths[:nlen]); err != nil {
		return err
	}
	if err := dist.build(lengths[nlen : nlen+ndist]); err != nil {
		return err
	}
	return s.codes(&lit, &dist)
}

// The strict decoder must agree with the standard library on its output
// and catch a reference one byte beyond the window.
func TestStrictInflaterAgreesWithStdlib(t *testing.T) {
	msgs := testCorpus(50)
	var hist []byte
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 6)
	for i, m := range msgs {
		buf.Reset()
		w.Write(m)
		w.Flush()
		got, _, err := strictInflate(hist, buf.Bytes(), 1<<15)
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("message %d: err %v, equal %v", i, err, bytes.Equal(got, m))
		}
		hist = append(hist, m...)
	}
	// "abcabc" as a literal run then a match of distance 3.
	buf.Reset()
	w.Reset(&buf)
	w.Write([]byte("abcdefghabcdefghabcdefgh"))
	w.Flush()
	if _, d, err := strictInflate(nil, buf.Bytes(), 8); err != nil || d != 8 {
		t.Fatalf("window 8: maxDist %d, err %v", d, err)
	}
	if _, _, err := strictInflate(nil, buf.Bytes(), 7); err == nil {
		t.Fatal("window 7: a distance of 8 was accepted")
	}
}
