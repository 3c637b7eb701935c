package compress

import (
	"bytes"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/klauspost/compress/flate"
)

// Buffers are pooled by power-of-two size class, from 256 B to 4 MiB.
// Larger buffers are allocated and dropped.
const (
	minClassBits = 8
	maxClassBits = 22
)

var bufPools [maxClassBits + 1]sync.Pool

// classOf returns the size class (log2 of the capacity) that holds n bytes.
func classOf(n int) int {
	if n <= 1<<minClassBits {
		return minClassBits
	}
	return bits.Len(uint(n - 1))
}

// getBuf returns an empty buffer with a capacity of at least n bytes.
func getBuf(n int) *[]byte {
	c := classOf(n)
	if c > maxClassBits {
		b := make([]byte, 0, n)
		return &b
	}
	if v := bufPools[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, 1<<c)
	return &b
}

// putBuf gives a buffer from getBuf back. A nil b is ignored.
func putBuf(b *[]byte) {
	if b == nil {
		return
	}
	c := cap(*b)
	if c < 1<<minClassBits || c > 1<<maxClassBits || c&(c-1) != 0 {
		return // not one of ours (or too large to keep)
	}
	*b = (*b)[:0]
	bufPools[bits.Len(uint(c))-1].Put(b)
}

// growBuf returns a buffer holding the bytes of b with room for at least n
// more, giving b back to its pool when it had to be replaced.
func growBuf(b *[]byte, n int) *[]byte {
	if b == nil {
		return getBuf(n)
	}
	if cap(*b)-len(*b) >= n {
		return b
	}
	nb := getBuf(max(len(*b)+n, 2*cap(*b)))
	*nb = append(*nb, *b...)
	putBuf(b)
	return nb
}

// bufWriter is an io.Writer appending to a pooled buffer.
type bufWriter struct {
	b *[]byte
}

func (w *bufWriter) Write(p []byte) (int, error) {
	w.b = growBuf(w.b, len(p))
	*w.b = append(*w.b, p...)
	return len(p), nil
}

// deflater is a pooled compressor with the writer it compresses into.
type deflater struct {
	fw   *flate.Writer
	out  bufWriter
	key  int
	free atomic.Uint64 // 0 while in use, else the generation of its release
}

// Compressor pools, by key: levels -2..9 (full 32 KiB window) are keys
// 0..11. Narrower windows use lzEncoder.
var deflaters [12]sync.Pool

func levelKey(level int) int { return level + 2 }

// getDeflater returns a compressor for the key, reset to write into out
// with dict as history.
func getDeflater(key int, out *[]byte, dict []byte) *deflater {
	var d *deflater
	for {
		v, _ := deflaters[key].Get().(*deflater)
		if v == nil {
			break
		}
		if g := v.free.Load(); g != 0 && v.free.CompareAndSwap(g, 0) {
			d = v
			break
		}
		// A stale reference to a compressor taken back by its last user.
	}
	if d == nil {
		d = &deflater{key: key}
		var err error
		d.fw, err = flate.NewWriter(&d.out, key-2)
		if err != nil {
			panic("compress: " + err.Error()) // keys are validated
		}
	}
	d.out.b = out
	d.fw.ResetDict(&d.out, dict)
	return d
}

// putDeflater gives a compressor back. The writer keeps a reference to the
// last dictionary; it is never used again because every use starts with
// ResetDict.
func putDeflater(d *deflater) { releaseDeflater(d) }

// Taking a compressor back. A compressor that has just compressed a
// message of a connection with context takeover still holds that
// connection's history. It goes back to the pool like any other, but its
// last user keeps a ticket: a weak pointer and the generation it was
// released with. If nobody took it from the pool meanwhile, the connection
// takes it back for its next message and saves reloading its history.
// The pool may then keep a stale reference to a compressor in use; its
// free generation is 0, and getDeflater skips it. Since tickets are weak,
// an idle connection pins no compressor: the pool frees them as usual.

// deflaterGen numbers the releases of compressors.
var deflaterGen atomic.Uint64

// parkTicket lets the last user of a compressor take it back.
type parkTicket struct {
	w   weak.Pointer[deflater]
	gen uint64
}

// releaseDeflater gives d back to the pool and returns the ticket to take
// it back untouched.
func releaseDeflater(d *deflater) parkTicket {
	d.out.b = nil
	g := deflaterGen.Add(1)
	d.free.Store(g)
	deflaters[d.key].Put(d)
	return parkTicket{w: weak.Make(d), gen: g}
}

// take returns the compressor of the ticket if nobody took it since.
func (t parkTicket) take() *deflater {
	if t.gen == 0 {
		return nil
	}
	if d := t.w.Value(); d != nil && d.free.CompareAndSwap(t.gen, 0) {
		return d
	}
	return nil
}

// inflater is a pooled decompressor with the reader it decompresses from.
type inflater struct {
	fr io.ReadCloser
	br bytes.Reader
}

var inflaters sync.Pool

// getInflater returns a decompressor reading in, with dict as history.
func getInflater(in, dict []byte) *inflater {
	f, _ := inflaters.Get().(*inflater)
	if f == nil {
		f = new(inflater)
		f.fr = flate.NewReader(&f.br)
	}
	f.br.Reset(in)
	_ = f.fr.(flate.Resetter).Reset(&f.br, dict)
	return f
}

// restart makes f decompress the rest of its input as a new stream with
// dict as history.
func (f *inflater) restart(dict []byte) {
	_ = f.fr.(flate.Resetter).Reset(&f.br, dict)
}

func putInflater(f *inflater) {
	f.br.Reset(nil)
	inflaters.Put(f)
}
