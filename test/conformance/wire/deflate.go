package wire

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tetherws/tether/internal/inflateref"
)

// PMD holds negotiated permessage-deflate parameters (RFC 7692 §7.1).
// Window bits of 0 mean the default, 15.
type PMD struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     int
	ClientMaxWindowBits     int
}

// ServerBits returns the server's window bits (15 by default).
func (p PMD) ServerBits() int { return bitsOr15(p.ServerMaxWindowBits) }

// ClientBits returns the client's window bits (15 by default).
func (p PMD) ClientBits() int { return bitsOr15(p.ClientMaxWindowBits) }

func bitsOr15(b int) int {
	if b == 0 {
		return 15
	}
	return b
}

func (p PMD) String() string {
	var parts []string
	if p.ServerNoContextTakeover {
		parts = append(parts, "server_no_context_takeover")
	}
	if p.ClientNoContextTakeover {
		parts = append(parts, "client_no_context_takeover")
	}
	if p.ServerMaxWindowBits != 0 {
		parts = append(parts, "server_max_window_bits="+strconv.Itoa(p.ServerMaxWindowBits))
	}
	if p.ClientMaxWindowBits != 0 {
		parts = append(parts, "client_max_window_bits="+strconv.Itoa(p.ClientMaxWindowBits))
	}
	if len(parts) == 0 {
		return "permessage-deflate"
	}
	return "permessage-deflate; " + strings.Join(parts, "; ")
}

// PMDName is the extension token of RFC 7692.
const PMDName = "permessage-deflate"

func parseBits(p Param) (int, error) {
	v := p.Value
	if len(v) == 0 || len(v) > 2 || strings.TrimLeft(v, "0123456789") != "" || v[0] == '0' {
		return 0, fmt.Errorf("%s=%q is not a number 8–15", p.Name, v)
	}
	n, _ := strconv.Atoi(v)
	if n < 8 || n > 15 {
		return 0, fmt.Errorf("%s=%d is outside 8–15", p.Name, n)
	}
	return n, nil
}

// OfferInfo is a client's permessage-deflate offer as the server reads it:
// the parameters and whether client_max_window_bits came without a value.
type OfferInfo struct {
	PMD
	ClientMaxWindowBitsOffered bool
}

// ParseOffer checks one permessage-deflate offer of a client (RFC 7692
// §7.1): known parameters, each at most once, valid values.
func ParseOffer(o Offer) (OfferInfo, error) {
	var in OfferInfo
	seen := map[string]bool{}
	for _, p := range o.Params {
		name := strings.ToLower(p.Name)
		if seen[name] {
			return in, fmt.Errorf("parameter %s repeated", name)
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover":
			if p.HasValue {
				return in, errors.New("server_no_context_takeover with a value")
			}
			in.ServerNoContextTakeover = true
		case "client_no_context_takeover":
			if p.HasValue {
				return in, errors.New("client_no_context_takeover with a value")
			}
			in.ClientNoContextTakeover = true
		case "server_max_window_bits":
			n, err := parseBits(p)
			if err != nil {
				return in, err
			}
			in.ServerMaxWindowBits = n
		case "client_max_window_bits":
			in.ClientMaxWindowBitsOffered = true
			if p.HasValue {
				n, err := parseBits(p)
				if err != nil {
					return in, err
				}
				in.ClientMaxWindowBits = n
			}
		default:
			return in, fmt.Errorf("unknown parameter %s", p.Name)
		}
	}
	return in, nil
}

// CheckResponse checks a server's permessage-deflate response against the
// client's offer (RFC 7692 §7.1) and returns the parameters in force: the
// client's window is the smaller of what it offered and what the server
// asked.
func CheckResponse(offer OfferInfo, resp Offer) (PMD, error) {
	if !strings.EqualFold(resp.Name, PMDName) {
		return PMD{}, fmt.Errorf("response extension %q is not %s", resp.Name, PMDName)
	}
	r, err := ParseOffer(resp)
	if err != nil {
		return PMD{}, fmt.Errorf("response: %w", err)
	}
	if r.ClientMaxWindowBitsOffered && r.ClientMaxWindowBits == 0 {
		return PMD{}, errors.New("response: client_max_window_bits without a value")
	}
	if offer.ServerNoContextTakeover && !r.ServerNoContextTakeover {
		return PMD{}, errors.New("response drops server_no_context_takeover, which the offer asked for")
	}
	if offer.ServerMaxWindowBits != 0 {
		if r.ServerMaxWindowBits == 0 {
			return PMD{}, fmt.Errorf("response drops server_max_window_bits (offer asked for %d)", offer.ServerMaxWindowBits)
		}
		if r.ServerMaxWindowBits > offer.ServerMaxWindowBits {
			return PMD{}, fmt.Errorf("response server_max_window_bits=%d exceeds the offer's %d", r.ServerMaxWindowBits, offer.ServerMaxWindowBits)
		}
	}
	if r.ClientMaxWindowBits != 0 && !offer.ClientMaxWindowBitsOffered {
		return PMD{}, errors.New("response has client_max_window_bits, which the offer did not include")
	}
	p := r.PMD
	if offer.ClientNoContextTakeover {
		p.ClientNoContextTakeover = true
	}
	if offer.ClientMaxWindowBits != 0 && (p.ClientMaxWindowBits == 0 || offer.ClientMaxWindowBits < p.ClientMaxWindowBits) {
		p.ClientMaxWindowBits = offer.ClientMaxWindowBits
	}
	return p, nil
}

// tail is the sync-flush marker that ends every compressed message and is
// removed from the payload (RFC 7692 §7.2.1).
var tail = []byte{0x00, 0x00, 0xff, 0xff}

// Deflater compresses the messages one endpoint sends.
type Deflater struct {
	WindowBits        int  // 8–15
	NoContextTakeover bool // a fresh window for every message
	hist              []byte
	fw                *flate.Writer
	buf               bytes.Buffer
}

// Compress returns the payload of msg compressed (RFC 7692 §7.2.1). With
// 15 window bits it uses compress/flate (whose window is 32 KiB); with
// fewer it uses lz77, which keeps every distance within 2^WindowBits.
func (d *Deflater) Compress(msg []byte) []byte {
	bits := bitsOr15(d.WindowBits)
	if bits == 15 {
		if d.fw == nil {
			d.fw, _ = flate.NewWriter(&d.buf, flate.DefaultCompression)
		} else if d.NoContextTakeover {
			d.fw.Reset(&d.buf)
		}
		d.buf.Reset()
		_, _ = d.fw.Write(msg)
		_ = d.fw.Flush()
		out := bytes.Clone(d.buf.Bytes())
		if !bytes.HasSuffix(out, tail) {
			panic("wire: compress/flate Flush did not end with a sync marker")
		}
		return out[:len(out)-4]
	}
	if d.NoContextTakeover {
		d.hist = d.hist[:0]
	}
	out := lz77(d.hist, msg, 1<<bits)
	d.hist = appendWindow(d.hist, msg, 1<<bits)
	return out
}

func appendWindow(hist, msg []byte, window int) []byte {
	hist = append(hist, msg...)
	if len(hist) > window {
		hist = append(hist[:0], hist[len(hist)-window:]...)
	}
	return hist
}

// Inflater decompresses the messages one endpoint receives, and checks
// that they refer no further back than the sender's window allows.
type Inflater struct {
	WindowBits        int
	NoContextTakeover bool
	hist              []byte
}

// Decompress returns the message whose compressed payload is p. With
// context takeover the decoder is given only the last 2^WindowBits bytes
// of earlier messages, so a reference beyond the window is an error; with
// no context takeover it is given nothing. limit bounds the output.
func (f *Inflater) Decompress(p []byte, limit int) ([]byte, error) {
	window := 1 << bitsOr15(f.WindowBits)
	var dict []byte
	if !f.NoContextTakeover {
		dict = f.hist
	}
	in := make([]byte, 0, len(p)+4)
	in = append(append(in, p...), tail...)
	d, err := inflateref.MaxDistance(in)
	if err != nil {
		return nil, err
	}
	if d > window {
		return nil, fmt.Errorf("a back-reference reaches %d bytes back, beyond the agreed window of %d bytes (%d bits)", d, window, bitsOr15(f.WindowBits))
	}
	r := flate.NewReaderDict(bytes.NewReader(in), dict)
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // the stream ends after the sync marker, without a final block
	}
	if err != nil {
		return nil, fmt.Errorf("inflate (window %d bytes, context takeover %v): %w", window, !f.NoContextTakeover, err)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("inflated message exceeds %d bytes", limit)
	}
	if !f.NoContextTakeover {
		f.hist = appendWindow(f.hist, out, window)
	}
	return out, nil
}

// ---------------------------------------------------------------- lz77

// bitWriter packs bits least significant first (RFC 1951 §3.1.1).
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= uint64(v) << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

// code writes a Huffman code, most significant bit first.
func (w *bitWriter) code(c uint32, n uint) {
	var r uint32
	for i := uint(0); i < n; i++ {
		r = r<<1 | c>>i&1
	}
	w.bits(r, n)
}

func (w *bitWriter) align() {
	if w.nacc > 0 {
		w.bits(0, 8-w.nacc)
	}
}

// literal writes a literal/length symbol with the fixed code (RFC 1951
// §3.2.6).
func (w *bitWriter) literal(sym int) {
	switch {
	case sym < 144:
		w.code(uint32(0x30+sym), 8)
	case sym < 256:
		w.code(uint32(0x190+sym-144), 9)
	case sym < 280:
		w.code(uint32(sym-256), 7)
	default:
		w.code(uint32(0xc0+sym-280), 8)
	}
}

var lenBase = [...]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lenExtra = [...]uint{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
var distBase = [...]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [...]uint{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

func (w *bitWriter) match(length, dist int) {
	i := len(lenBase) - 1
	for lenBase[i] > length {
		i--
	}
	w.literal(257 + i)
	w.bits(uint32(length-lenBase[i]), lenExtra[i])
	j := len(distBase) - 1
	for distBase[j] > dist {
		j--
	}
	w.code(uint32(j), 5)
	w.bits(uint32(dist-distBase[j]), distExtra[j])
}

// matchLen returns the length of the common prefix of a and b, at most
// limit (b is the shorter: a starts earlier in the same buffer).
func matchLen(a, b []byte, limit int) int {
	limit = min(limit, len(b))
	n := 0
	for n+8 <= limit && binary.LittleEndian.Uint64(a[n:]) == binary.LittleEndian.Uint64(b[n:]) {
		n += 8
	}
	for n < limit && a[n] == b[n] {
		n++
	}
	return n
}

// lz77 compresses msg as one fixed-Huffman block followed by a sync flush
// (whose 00 00 ff ff is removed). Matches may reach into hist (the end of
// the earlier messages) but never more than window bytes back.
func lz77(hist, msg []byte, window int) []byte {
	if len(hist) > window {
		hist = hist[len(hist)-window:]
	}
	buf := make([]byte, 0, len(hist)+len(msg))
	buf = append(append(buf, hist...), msg...)
	const hashBits = 15
	head := make([]int32, 1<<hashBits)
	for i := range head {
		head[i] = -1
	}
	prev := make([]int32, len(buf))
	hash := func(i int) uint32 {
		v := uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16
		return v * 0x9E3779B1 >> (32 - hashBits)
	}
	insert := func(i int) {
		if i+3 <= len(buf) {
			h := hash(i)
			prev[i] = head[h]
			head[h] = int32(i)
		}
	}
	for i := range len(hist) {
		insert(i)
	}
	var w bitWriter
	w.bits(0, 1) // BFINAL = 0
	w.bits(1, 2) // BTYPE = 01, fixed Huffman codes
	for i := len(hist); i < len(buf); {
		bestLen, bestDist := 0, 0
		if i+3 <= len(buf) {
			for c, depth := head[hash(i)], 0; c >= 0 && depth < 8; c, depth = prev[c], depth+1 {
				d := i - int(c)
				if d > window {
					break
				}
				n := matchLen(buf[c:], buf[i:], 258)
				if n > bestLen {
					bestLen, bestDist = n, d
					if n == 258 {
						break
					}
				}
			}
		}
		if bestLen >= 3 {
			w.match(bestLen, bestDist)
			for k := range bestLen {
				insert(i + k)
			}
			i += bestLen
			continue
		}
		w.literal(int(buf[i]))
		insert(i)
		i++
	}
	w.literal(256) // end of block
	// Sync flush: an empty stored block, BFINAL = 0; its LEN/NLEN
	// (00 00 ff ff) are the tail the receiver adds back.
	w.bits(0, 3)
	w.align()
	return w.out
}
