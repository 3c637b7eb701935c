package compress

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherws/tether/ws"
)

// Agreement is the outcome of a negotiation as one endpoint sees it.
type Agreement struct {
	// LocalNoContextTakeover: this endpoint compresses each message on its
	// own, so it keeps no history of what it sent.
	LocalNoContextTakeover bool
	// RemoteNoContextTakeover: the peer compresses each message on its
	// own, so this endpoint keeps no history of what it received.
	RemoteNoContextTakeover bool
	// LocalMaxWindowBits is the window of this endpoint's compressor, 8..15.
	LocalMaxWindowBits int
	// RemoteMaxWindowBits is the window of the peer's compressor, 8..15.
	RemoteMaxWindowBits int
}

// Deflate is a negotiated permessage-deflate extension for one connection.
// It implements ws.Extension and ws.ExtensionCloser.
//
// Between messages it keeps only its history windows: the last 2^bits
// bytes sent and received, for the directions that use context takeover.
// Under 15-bit windows it compresses with this package's window encoder:
// the one it kept since its last message while busy (Options.BusyEncoders),
// else a pooled one loaded with the send history. With 15-bit windows or
// HuffmanOnly, a compressor is borrowed from a process-wide pool for each
// message (a compressor stays borrowed across the frames of a fragmented
// message) and loaded with the history; after the message it goes back to
// the pool still loaded, and the connection keeps a weak ticket and takes
// it back for its next message if no other connection took it meanwhile.
// A decompressor is borrowed for each message and loaded with the receive
// history. An idle connection pins none of them.
//
// The payloads Encode and Decode return alias per-direction buffers that
// are kept for the next message; a runtime that wants idle connections to
// hold only their windows calls ReleaseBuffers (or the per-direction
// variants) once it has consumed them.
//
// As ws.Extension requires, Encode and Decode may run concurrently with
// each other but each must not run concurrently with itself; Close and
// ReleaseBuffers must not run concurrently with either.
type Deflate struct {
	agreed           Agreement
	params           []ws.Param
	level, threshold int
	sendW, recvW     int  // history window sizes
	keepSend         bool // the send history is needed between messages

	// Send side, used by Encode.
	sHist *[]byte    // last sendW bytes sent compressed (context takeover)
	sOut  *[]byte    // output of the last Encode
	sDefl *deflater  // compressor of the message being sent
	sComp bool       // the message being sent is compressed
	sPark parkTicket // to take back the compressor of the last message
	sPin  *deflater  // compressor kept since the last message (see pin)
	// sPinned: this connection holds a slot of the budget.
	sPinned bool
	sPacked packedWindow // sHist, stored compressed while idle
	useLz   bool         // messages go through lzEncoder (see lz.go)
	sLz     *lzEncoder   // window encoder of the message being sent
	sLzPin  *lzEncoder   // window encoder kept since the last message (holds a budget slot)

	// Receive side, used by Decode.
	rHist   *[]byte // last recvW bytes received compressed
	rOut    *[]byte // output of the last Decode
	rPend   *[]byte // compressed input not yet inflated (see Decode)
	rMsg    bool    // a compressed message is being received
	rProbes int     // failed block-boundary probes in this message
	rPacked packedWindow

	// sMu and rMu are held by Encode and Decode (which ws may run
	// concurrently with each other) and by the idle timer.
	sMu, rMu sync.Mutex
	closed   bool

	// Idle timer (see arm and onIdle).
	budget    *busyBudget
	clock     clock
	idleAfter time.Duration // <= 0: never idle
	touched   atomic.Bool   // used since the timer last ran
	armed     atomic.Bool
	tMu       sync.Mutex // guards timer and tClosed
	timer     stopper
	tClosed   bool
}

// newDeflate returns the extension for one connection; b is its factory's
// budget (nil: one of its own).
func newDeflate(o *Options, a Agreement, ps []ws.Param, b *busyBudget) *Deflate {
	if b == nil {
		b = newBudget(o)
	}
	d := &Deflate{
		budget:    b,
		clock:     realClock{},
		idleAfter: o.IdleAfter,
		agreed:    a,
		params:    ps,
		level:     o.level(),
		threshold: o.Threshold,
		sendW:     1 << a.LocalMaxWindowBits,
		// A peer announcing 8 bits may be zlib, which cannot compress
		// with 256 bytes and silently uses 512: accept that.
		recvW: 1 << max(a.RemoteMaxWindowBits, 9),
	}
	d.keepSend = !a.LocalNoContextTakeover && d.level != HuffmanOnly
	d.useLz = d.level != HuffmanOnly && a.LocalMaxWindowBits < 15
	if d.idleAfter == 0 {
		d.idleAfter = DefaultIdleAfter
	}
	return d
}

// Name returns "permessage-deflate".
func (d *Deflate) Name() string { return ExtensionName }

// Params returns the negotiated parameters, as the server answered them.
func (d *Deflate) Params() []ws.Param { return d.params }

// String returns the extension as the server's Sec-WebSocket-Extensions
// header named it, e.g. "permessage-deflate; client_max_window_bits=12",
// so that printing a connection's extensions shows what was negotiated.
func (d *Deflate) String() string {
	return ws.FormatExtensions([]ws.ExtensionOffer{{Name: d.Name(), Params: d.params}})
}

// RsvBits returns RSV1, the bit that marks a compressed message.
func (d *Deflate) RsvBits() byte { return ws.RSV1 }

// Agreement returns the negotiated parameters from this endpoint's view.
func (d *Deflate) Agreement() Agreement { return d.agreed }

// encodingKey identifies how a Deflate without send history encodes.
type encodingKey struct{ level, threshold, bits int }

// EncodingKey implements ws.SharedEncoder: an endpoint that compresses
// each message on its own (no context takeover on its side, or Huffman
// coding only) encodes a whole message according to its level, threshold
// and window alone, so a broadcast compresses it once for every
// connection with the same key. With context takeover the encoding
// depends on the history: ok is false.
func (d *Deflate) EncodingKey() (key any, ok bool) {
	if d.keepSend {
		return nil, false
	}
	return encodingKey{d.level, d.threshold, d.agreed.LocalMaxWindowBits}, true
}

var errClosed = errors.New("compress: extension used after Close")

// endBlock is appended to the compressed data given to the decompressor:
// a final stored block of 8 known bytes. Decoding stops cleanly on it and
// outputs these bytes only if the data before it ended on a block
// boundary, which tells whether a frame can be inflated on its own (the
// decompressor cannot be suspended between frames).
var endBlock = []byte{0x01, 0x08, 0x00, 0xf7, 0xff, 0x9e, 'p', 'm', 'd', 0x5a, 'e', 'n', 'd'}

var endMark = endBlock[5:]

// maxFailedProbes bounds the non-final frames of one message inflated on
// their own without ending on a block boundary; later frames are kept
// until the end of the message, so that a peer cannot make each frame
// re-inflate everything received before it.
const maxFailedProbes = 2

// errNotBoundary: a non-final frame does not end on a block boundary.
var errNotBoundary = errors.New("compress: not on a block boundary")

func tooBig(limit int64) error {
	return &ws.ProtocolError{Code: ws.CloseMessageTooBig, Msg: "frame exceeds limit of " + strconv.FormatInt(limit, 10) + " bytes"}
}

func corrupt() error {
	return &ws.ProtocolError{Code: ws.CloseProtocolError, Msg: "decompression failed"}
}

// Decode inflates an incoming frame of a compressed message. ws calls it
// only for messages whose first frame has RSV1. At most limit bytes are
// produced (limit < 0: no limit): past it Decode fails with a
// *ws.ProtocolError of code 1009 without inflating further. Corrupt data,
// and RSV1 on a continuation frame, fail with code 1002.
//
// A frame is inflated as soon as the compressed data up to its end can be
// (the sender flushed at the end of the frame, as this package and most
// implementations do). A sender may also cut the compressed data of a
// message anywhere (RFC 7692 §6.1); such frames are kept, compressed,
// until a frame ends on a block boundary or the message ends, and their
// output is returned then. The compressed data kept is bounded by
// limit + limit/8 + 1 KiB.
func (d *Deflate) Decode(f *ws.Frame, limit int64) error {
	d.rMu.Lock()
	err := d.decode(f, limit)
	d.rMu.Unlock()
	return err
}

func (d *Deflate) decode(f *ws.Frame, limit int64) error {
	if d.closed {
		return errClosed
	}
	d.touch()
	if err := d.restoreReceive(); err != nil {
		return err
	}
	if f.Opcode != ws.OpContinuation {
		d.endReceive()
		if f.Rsv&ws.RSV1 == 0 {
			return nil
		}
		f.Rsv &^= ws.RSV1
		d.rMsg = true
		d.rProbes = 0
	} else {
		if f.Rsv&ws.RSV1 != 0 {
			return &ws.ProtocolError{Code: ws.CloseProtocolError, Msg: "RSV1 set on a continuation frame"}
		}
		if !d.rMsg {
			return nil
		}
	}
	var pend []byte
	if d.rPend != nil {
		pend = *d.rPend
	}
	switch {
	case !f.Fin && (d.rProbes >= maxFailedProbes || !endsWithSync(pend, f.Payload)):
		return d.keep(f, limit)
	case f.Fin && len(pend) == 0 && len(f.Payload) == 0:
		// Nothing to inflate: zlib sends an empty final frame when the
		// previous one was flushed and nothing is left.
		d.endReceive()
		return nil
	}

	in := getBuf(len(pend) + len(f.Payload) + len(syncTail) + len(endBlock))
	b := append(append(*in, pend...), f.Payload...)
	end := len(b)
	if f.Fin {
		b = append(b, syncTail...)
	}
	*in = append(b, endBlock...)
	out, err := d.inflate(*in, end, limit, f.Fin)
	putBuf(in)
	if err == errNotBoundary {
		d.rProbes++
		return d.keep(f, limit)
	}
	if err != nil {
		d.endReceive()
		return err
	}
	putBuf(d.rPend)
	d.rPend = nil
	if !f.Fin || !d.agreed.RemoteNoContextTakeover {
		d.rHist = pushHistory(d.rHist, d.recvW, out)
	}
	if f.Fin {
		d.endReceive()
	}
	f.Payload = out
	return nil
}

// endsWithSync reports whether a ++ b ends with 00 00 ff ff.
func endsWithSync(a, b []byte) bool {
	if len(b) >= 4 {
		return bytes.HasSuffix(b, syncTail)
	}
	if len(a)+len(b) < 4 {
		return false
	}
	var t [4]byte
	n := copy(t[:], a[len(a)-(4-len(b)):])
	copy(t[n:], b)
	return t == [4]byte{0, 0, 0xff, 0xff}
}

// keep adds the frame's payload to the compressed data kept for later
// and returns the frame empty.
func (d *Deflate) keep(f *ws.Frame, limit int64) error {
	n := len(f.Payload)
	if d.rPend != nil {
		n += len(*d.rPend)
	}
	if limit >= 0 && int64(n) > limit+limit/8+1024 {
		d.endReceive()
		return tooBig(limit)
	}
	d.rPend = growBuf(d.rPend, len(f.Payload))
	*d.rPend = append(*d.rPend, f.Payload...)
	f.Payload = f.Payload[:0]
	return nil
}

// endReceive ends the message being received.
func (d *Deflate) endReceive() {
	d.rMsg = false
	if d.rPend != nil {
		putBuf(d.rPend)
		d.rPend = nil
	}
	if d.agreed.RemoteNoContextTakeover && d.rHist != nil {
		putBuf(d.rHist)
		d.rHist = nil
	}
}

// inflate decompresses in, which is compressed data (up to end) followed
// by the tail Decode appends, into d.rOut. It returns the output without
// the end mark, errNotBoundary when a non-final frame turns out not to end
// on a block boundary, or a *ws.ProtocolError.
func (d *Deflate) inflate(in []byte, end int, limit int64, final bool) ([]byte, error) {
	var dict []byte
	if d.rHist != nil {
		dict = *d.rHist
	}
	fl := getInflater(in, dict)
	defer putInflater(fl)

	// genuine reports whether the decompressor has read compressed data
	// only, not the tail: its verdict then holds whatever follows.
	genuine := func() bool { return final || len(in)-fl.br.Len() <= end }

	maxOut := int64(-1) // output allowed, end mark included
	if limit >= 0 {
		maxOut = limit + int64(len(endMark))
	}
	out := d.rOut
	if out == nil {
		want := 4*len(in) + 256
		if maxOut >= 0 && int64(want) > maxOut+1 {
			want = int(maxOut + 1)
		}
		out = getBuf(want)
	}
	b := (*out)[:0]
	for {
		if len(b) == cap(b) {
			var nb *[]byte
			if maxOut >= 0 && int64(4*cap(b)) > maxOut+1 {
				// Near the limit: what may still be needed, at once.
				s := make([]byte, 0, int(maxOut+1))
				nb = &s
			} else {
				nb = getBuf(2 * cap(b))
			}
			*nb = append(*nb, b...)
			*out = b
			putBuf(out)
			out, b = nb, *nb
		}
		room := b[len(b):cap(b)]
		if maxOut >= 0 && int64(len(b)+len(room)) > maxOut+1 {
			room = room[:int(maxOut+1)-len(b)]
		}
		n, err := fl.fr.Read(room)
		b = b[:len(b)+n]
		if maxOut >= 0 && int64(len(b)) > maxOut {
			*out = b
			d.rOut = out
			if genuine() {
				return nil, tooBig(limit)
			}
			return nil, errNotBoundary
		}
		if err == nil {
			continue
		}
		if err == io.EOF {
			rest := fl.br.Len()
			if rest == 0 {
				break
			}
			if rest == len(in)-end {
				// The data ended with a block with BFINAL set, without
				// the empty block RFC 7692 §7.2.3.5 adds: done. All of
				// b is output (no end mark), which the room above only
				// bounded by limit plus the end mark's length.
				*out = b
				d.rOut = out
				if limit >= 0 && int64(len(b)) > limit {
					return nil, tooBig(limit)
				}
				return b, nil
			}
			// A block with BFINAL set: the rest is a new stream over
			// the same window.
			fl.restart(window(dict, b, d.recvW))
			continue
		}
		*out = b
		d.rOut = out
		if genuine() && err != io.ErrUnexpectedEOF || final {
			return nil, corrupt()
		}
		return nil, errNotBoundary
	}
	*out = b
	d.rOut = out
	if !bytes.HasSuffix(b, endMark) {
		if final {
			return nil, corrupt()
		}
		return nil, errNotBoundary
	}
	return b[:len(b)-len(endMark)], nil
}

// window returns the last w bytes of dict ++ b.
func window(dict, b []byte, w int) []byte {
	if len(b) >= w {
		return b[len(b)-w:]
	}
	keep := min(len(dict), w-len(b))
	return append(append(make([]byte, 0, keep+len(b)), dict[len(dict)-keep:]...), b...)
}
