package inflateref

import (
	"errors"
	"fmt"
)

// maxWindow is the largest window DEFLATE allows: no distance reaches
// further back than 32 KiB.
const maxWindow = 1 << 15

// errTruncated reports input that ends inside a block.
var errTruncated = errors.New("inflateref: truncated stream")

// Inflate decodes data, a DEFLATE stream that ends on a block boundary
// (sync-flushed or final), as the continuation of hist, the bytes
// decompressed before it. It fails on any back-reference farther than
// window bytes or before the start of hist, and on data after a final
// block. It returns the output and the largest distance seen.
func Inflate(hist, data []byte, window int) ([]byte, int, error) {
	if len(hist) > maxWindow {
		hist = hist[len(hist)-maxWindow:]
	}
	d := &decoder{
		in:             data,
		out:            append([]byte(nil), hist...),
		emit:           true,
		window:         window,
		rejectTrailing: true,
	}
	start := len(d.out)
	err := d.run()
	return d.out[start:], d.maxDist, err
}

// MaxDistance parses data, a DEFLATE stream, without producing output and
// returns the longest back-reference distance it uses. It stops at the end
// of the input on a block boundary, or after a final block whatever
// follows it. It checks no distance against a window or a history: that
// is the caller's comparison, made because compress/flate checks distances
// only against the data it has, not against the window the two peers
// agreed on.
func MaxDistance(data []byte) (int, error) {
	d := &decoder{in: data}
	err := d.run()
	return d.maxDist, err
}

// decoder is one pass over a DEFLATE stream. Without emit it only parses:
// literals and copies produce nothing and distances are not checked.
type decoder struct {
	in     []byte
	pos    int    // next byte of in to load into bitbuf
	bitbuf uint64 // loaded bits not yet consumed, least significant first
	bitcnt uint   // how many bits bitbuf holds

	emit           bool   // produce output and check distances
	out            []byte // the history, then the output
	window         int    // the largest distance allowed (with emit)
	rejectTrailing bool   // data after a final block is an error
	maxDist        int    // the largest distance seen
}

// bits returns the next n bits of the stream (RFC 1951 §3.1.1).
func (d *decoder) bits(n uint) (int, error) {
	for d.bitcnt < n {
		if d.pos >= len(d.in) {
			return 0, errTruncated
		}
		d.bitbuf |= uint64(d.in[d.pos]) << d.bitcnt
		d.pos++
		d.bitcnt += 8
	}
	v := int(d.bitbuf & (1<<n - 1))
	d.bitbuf >>= n
	d.bitcnt -= n
	return v, nil
}

// run decodes blocks until the input ends on a block boundary or a final
// block ends.
func (d *decoder) run() error {
	for {
		if d.pos == len(d.in) && d.bitbuf == 0 {
			return nil // ended on a block boundary (after zero padding)
		}
		final, err := d.bits(1)
		if err != nil {
			return err
		}
		typ, err := d.bits(2)
		if err != nil {
			return err
		}
		switch typ {
		case 0:
			err = d.stored()
		case 1:
			err = d.codes(&fixedLit, &fixedDist)
		case 2:
			err = d.dynamic()
		default:
			err = errors.New("inflateref: invalid block type 3")
		}
		if err != nil {
			return err
		}
		if final == 1 {
			if d.rejectTrailing && d.pos != len(d.in) {
				return errors.New("inflateref: data after the final block")
			}
			return nil
		}
	}
}

// stored copies a stored block (RFC 1951 §3.2.4).
func (d *decoder) stored() error {
	d.bitbuf, d.bitcnt = 0, 0 // skip to the byte boundary
	if d.pos+4 > len(d.in) {
		return errTruncated
	}
	n := int(d.in[d.pos]) | int(d.in[d.pos+1])<<8
	nn := int(d.in[d.pos+2]) | int(d.in[d.pos+3])<<8
	if n != ^nn&0xffff {
		return errors.New("inflateref: stored block LEN/NLEN mismatch")
	}
	d.pos += 4
	if d.pos+n > len(d.in) {
		return errTruncated
	}
	if d.emit {
		d.out = append(d.out, d.in[d.pos:d.pos+n]...)
	}
	d.pos += n
	return nil
}

// decode reads one symbol of the canonical code h, a bit at a time.
func (d *decoder) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := d.bits(1)
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
	return 0, errors.New("inflateref: invalid Huffman code")
}

// codes decodes the compressed data of one block with the literal/length
// code lit and the distance code dist, up to its end-of-block symbol.
func (d *decoder) codes(lit, dist *huffman) error {
	for {
		sym, err := d.decode(lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			if d.emit {
				d.out = append(d.out, byte(sym))
			}
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return fmt.Errorf("inflateref: invalid length symbol %d", sym)
		}
		sym -= 257
		e, err := d.bits(lenExtra[sym])
		if err != nil {
			return err
		}
		n := lenBase[sym] + e
		ds, err := d.decode(dist)
		if err != nil {
			return err
		}
		if ds >= 30 {
			return fmt.Errorf("inflateref: invalid distance symbol %d", ds)
		}
		e, err = d.bits(distExtra[ds])
		if err != nil {
			return err
		}
		dd := distBase[ds] + e
		d.maxDist = max(d.maxDist, dd)
		if !d.emit {
			continue
		}
		if dd > d.window {
			return fmt.Errorf("inflateref: distance %d beyond the %d-byte window", dd, d.window)
		}
		if dd > len(d.out) {
			return fmt.Errorf("inflateref: distance %d beyond the %d bytes of history", dd, len(d.out))
		}
		for range n {
			d.out = append(d.out, d.out[len(d.out)-dd])
		}
	}
}

// dynamic reads the code lengths of a block with dynamic Huffman codes
// (RFC 1951 §3.2.7), then decodes the block.
func (d *decoder) dynamic() error {
	hlit, err := d.bits(5)
	if err != nil {
		return err
	}
	hdist, err := d.bits(5)
	if err != nil {
		return err
	}
	hclen, err := d.bits(4)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := hlit+257, hdist+1, hclen+4
	if nlen > 286 || ndist > 30 {
		return errors.New("inflateref: bad code counts")
	}
	var lengths [286 + 30]int
	for i := range ncode {
		v, err := d.bits(3)
		if err != nil {
			return err
		}
		lengths[clOrder[i]] = v
	}
	var lencode huffman
	if err := lencode.build(lengths[:19]); err != nil {
		return err
	}
	lengths = [286 + 30]int{}
	for i := 0; i < nlen+ndist; {
		sym, err := d.decode(&lencode)
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
				return errors.New("inflateref: repeat with no previous length")
			}
			val = lengths[i-1]
			rep, err = d.bits(2)
			rep += 3
		case 17:
			rep, err = d.bits(3)
			rep += 3
		default:
			rep, err = d.bits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+rep > nlen+ndist {
			return errors.New("inflateref: too many lengths")
		}
		for range rep {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errors.New("inflateref: no end-of-block code")
	}
	var lit, dist huffman
	if err := lit.build(lengths[:nlen]); err != nil {
		return err
	}
	if err := dist.build(lengths[nlen : nlen+ndist]); err != nil {
		return err
	}
	return d.codes(&lit, &dist)
}
