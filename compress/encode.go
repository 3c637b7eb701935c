package compress

import (
	"bytes"
	"errors"

	"github.com/tetherws/tether/ws"
)

// The send side of Deflate: Encode and the compressors it uses.

// syncTail is the end of a sync flush, removed from the end of each message.
var syncTail = []byte{0x00, 0x00, 0xff, 0xff}

// Encode compresses an outgoing data frame. The first frame of a message
// decides: the message is sent as it is when Frame.NoCompress is set or
// when it fits in one frame shorter than Options.Threshold; otherwise
// each frame is compressed and sync-flushed, RSV1 is set on the first
// frame, and the final frame loses the trailing 00 00 ff ff (RFC 7692
// §7.2.1).
func (d *Deflate) Encode(f *ws.Frame) error {
	d.sMu.Lock()
	err := d.encode(f)
	d.sMu.Unlock()
	return err
}

func (d *Deflate) encode(f *ws.Frame) error {
	if d.closed {
		return errClosed
	}
	d.touch()
	if err := d.restoreSend(); err != nil {
		return err
	}
	if d.useLz {
		return d.encodeLz(f)
	}
	if f.Opcode != ws.OpContinuation {
		if d.sDefl != nil { // a message was left unfinished
			putDeflater(d.sDefl)
			d.sDefl = nil
		}
		d.sComp = !f.NoCompress && (!f.Fin || len(f.Payload) >= d.threshold)
		if !d.sComp {
			return nil
		}
		f.Rsv |= ws.RSV1
		if f.Fin && len(f.Payload) < smallMax && d.level != HuffmanOnly {
			d.encodeSmall(f)
			return nil
		}
		d.beginSend()
	} else if !d.sComp {
		return nil
	} else if d.sDefl == nil {
		return errors.New("compress: continuation frame without a first frame")
	}

	out := d.sOut
	if out == nil {
		out = getBuf(len(f.Payload)/2 + 64)
	}
	*out = (*out)[:0]
	w := d.sDefl
	w.out.b = out
	_, err := w.fw.Write(f.Payload)
	if err == nil {
		err = w.fw.Flush()
	}
	d.sOut, w.out.b = w.out.b, nil
	if err != nil { // cannot happen: the output is memory
		return err
	}
	b := *d.sOut
	if f.Fin {
		b = bytes.TrimSuffix(b, syncTail)
		d.sDefl = nil
		// Its state continues this connection's history if it keeps one.
		if !d.keepSend {
			putDeflater(w)
		} else if !d.pin(w) {
			d.sPark = releaseDeflater(w)
		}
	}
	if d.keepSend {
		d.sHist = pushHistory(d.sHist, d.sendW, f.Payload)
	}
	f.Payload = b
	return nil
}

// encodeLz compresses a frame with the window encoder: the one this
// connection kept, else a pooled one loaded with the history.
func (d *Deflate) encodeLz(f *ws.Frame) error {
	if f.Opcode != ws.OpContinuation {
		d.endLz() // a message was left unfinished
		d.sComp = !f.NoCompress && (!f.Fin || len(f.Payload) >= d.threshold)
		if !d.sComp {
			return nil
		}
		f.Rsv |= ws.RSV1
		if d.sLzPin == nil && f.Fin && len(f.Payload) < smallMax {
			d.encodeSmall(f)
			return nil
		}
		if d.sLz = d.sLzPin; d.sLz == nil {
			var hist []byte
			if d.keepSend && d.sHist != nil {
				hist = *d.sHist
			}
			d.sLz = getLz(d.agreed.LocalMaxWindowBits, d.level, hist)
		}
	} else if !d.sComp {
		return nil
	} else if d.sLz == nil {
		return errors.New("compress: continuation frame without a first frame")
	}
	out := growBuf(d.sOut, len(f.Payload)/2+64)
	*out = d.sLz.encode((*out)[:0], f.Payload)
	d.sOut = out
	if d.keepSend {
		d.sHist = pushHistory(d.sHist, d.sendW, f.Payload)
	}
	f.Payload = *out
	if f.Fin {
		d.endLz()
		f.Payload = bytes.TrimSuffix(*out, syncTail)
	}
	return nil
}

// endLz ends the use of the window encoder for a message: the connection
// keeps it if it may, else it goes back to the pool.
func (d *Deflate) endLz() {
	e := d.sLz
	if e == nil || e == d.sLzPin {
		d.sLz = nil
		return
	}
	d.sLz = nil
	if d.keepSend && d.budget.encoders.acquire() {
		d.sLzPin = e
		return
	}
	putLz(e)
}

// unpinLz gives back the kept window encoder and its budget slot.
func (d *Deflate) unpinLz() {
	if d.sLzPin != nil {
		putLz(d.sLzPin)
		d.sLzPin = nil
		d.budget.encoders.release()
	}
}

// encodeSmall compresses a short message sent in one frame with the
// built-in encoder, which borrows no compressor.
func (d *Deflate) encodeSmall(f *ws.Frame) {
	d.dropParked() // its history will miss this message
	var hist []byte
	if d.keepSend && d.sHist != nil {
		hist = *d.sHist
	}
	out := growBuf(d.sOut, 2*len(f.Payload)+32)
	*out = encodeSmall((*out)[:0], hist, f.Payload, d.sendW)
	d.sOut = out
	b := bytes.TrimSuffix(*out, syncTail)
	if d.keepSend {
		d.sHist = pushHistory(d.sHist, d.sendW, f.Payload)
	}
	f.Payload = b
}

// beginSend borrows the compressor for a message and loads the history
// into it.
func (d *Deflate) beginSend() {
	var dict []byte
	if d.keepSend && d.sHist != nil {
		dict = *d.sHist
	}
	// Only Huffman coding (no back-references) or the full 32 KiB
	// window come here: the window encoder takes the rest.
	key := levelKey(d.level)
	if w := d.sPin; w != nil {
		d.sPin = nil
		if w.key == key {
			d.sDefl = w
			return
		}
		putDeflater(w)
	}
	if w := d.sPark.take(); w != nil {
		d.sPark = parkTicket{}
		if w.key == key {
			// Still loaded with exactly this connection's history.
			d.sDefl = w
			return
		}
		putDeflater(w)
	}
	d.sPark = parkTicket{}
	d.sDefl = getDeflater(key, nil, dict)
}

// dropParked forgets the compressor of the last message: it will not have
// the history of the next one.
func (d *Deflate) dropParked() {
	d.sPark = parkTicket{}
	if d.sPin != nil {
		putDeflater(d.sPin)
		d.sPin = nil
	}
}

// pushHistory appends data to the window history h of w bytes (a buffer
// of capacity w, allocated on first use), keeping the last w bytes.
func pushHistory(h *[]byte, w int, data []byte) *[]byte {
	if h == nil {
		if len(data) == 0 {
			return nil
		}
		h = getBuf(w)
	}
	b := *h
	switch {
	case len(data) >= w:
		b = b[:w]
		copy(b, data[len(data)-w:])
	default:
		if over := len(b) + len(data) - w; over > 0 {
			b = b[:copy(b, b[over:])]
		}
		b = append(b, data...)
	}
	*h = b
	return h
}
