package compress

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Busy and idle connections.
//
// A per-connection timer notices when no message went either way for
// IdleAfter: the connection then stores its history windows compressed,
// restoring them at its next message, and gives back the compressor it
// kept, if any. With Options.BusyCompressors, a busy connection with
// context takeover keeps the compressor of its last message (a slot of
// its factory's budget), so that the next message need not reload the
// history into a pooled one: the reload costs as much as compressing the
// window itself. klauspost/compress then compresses slightly worse (about
// 1% more bytes on a JSON stream) than from a freshly loaded window,
// hence the opt-in.
//
// Per message, Encode and Decode only set a flag (and arm the timer when
// it is not armed); the timer re-arms itself while the flag was set since
// it last fired, so a busy connection costs one timer per IdleAfter.

// DefaultIdleAfter is the idle time after which a connection gives back
// its compressor and stores its windows compressed, when
// Options.IdleAfter is 0.
const DefaultIdleAfter = 5 * time.Second

// clock makes the idle timer injectable in tests.
type clock interface {
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

type realClock struct{}

func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// busyBudget counts the compressors (Options.BusyCompressors) and window
// encoders (Options.BusyEncoders) kept by the busy connections of one
// factory.
type busyBudget struct {
	compressors, encoders slots
}

func newBudget(o *Options) *busyBudget {
	b := &busyBudget{}
	if o.IdleAfter >= 0 { // else nothing would give a kept one back
		b.compressors.max = int32(min(o.BusyCompressors, 1<<30))
		b.encoders.max = int32(min(o.busyEncoders(), 1<<30))
	}
	return b
}

// slots is a bounded count.
type slots struct {
	max  int32
	used atomic.Int32
}

func (b *slots) acquire() bool {
	if b.max == 0 {
		return false
	}
	if b.used.Add(1) <= b.max {
		return true
	}
	b.used.Add(-1)
	return false
}

func (b *slots) release() { b.used.Add(-1) }

// packedWindow is a history window stored compressed while idle.
type packedWindow struct {
	data []byte // a deflate stream holding the n bytes of the window
	n    int    // length of the window
}

// touch records activity and arms the idle timer if needed. The caller
// holds sMu or rMu.
func (d *Deflate) touch() {
	if d.idleAfter <= 0 {
		return
	}
	if !d.touched.Load() {
		d.touched.Store(true)
	}
	if !d.armed.Load() {
		d.arm()
	}
}

func (d *Deflate) arm() {
	d.tMu.Lock()
	if !d.armed.Load() && !d.tClosed {
		d.armed.Store(true)
		d.timer = d.clock.AfterFunc(d.idleAfter, d.onIdle)
	}
	d.tMu.Unlock()
}

// onIdle runs on the timer: it re-arms while the connection was used
// since it last ran, and otherwise gives back what an idle connection
// does not need.
func (d *Deflate) onIdle() {
	d.tMu.Lock()
	if d.tClosed {
		d.tMu.Unlock()
		return
	}
	if d.touched.Swap(false) {
		d.timer = d.clock.AfterFunc(d.idleAfter, d.onIdle)
		d.tMu.Unlock()
		return
	}
	d.armed.Store(false)
	d.timer = nil
	d.tMu.Unlock()

	midMessage := false
	d.sMu.Lock()
	if d.sDefl != nil || d.sLz != nil {
		midMessage = true
	} else if !d.closed {
		d.packSend()
	}
	d.sMu.Unlock()
	d.rMu.Lock()
	if d.rMsg {
		midMessage = true
	} else if !d.closed {
		d.rPacked, d.rHist = d.packWindow(d.rPacked, d.rHist)
	}
	d.rMu.Unlock()
	if midMessage {
		d.arm()
	}
}

// packSend gives back the kept compressor and stores the send history
// compressed. The caller holds sMu.
func (d *Deflate) packSend() {
	if d.sPin != nil {
		// It still holds the history: the next message may take it back.
		d.sPark = releaseDeflater(d.sPin)
		d.sPin = nil
	}
	d.unpin()
	d.sPacked, d.sHist = d.packWindow(d.sPacked, d.sHist)
}

// unpin gives back the kept compressor and its budget slot.
func (d *Deflate) unpin() {
	if d.sPin != nil {
		putDeflater(d.sPin)
		d.sPin = nil
	}
	if d.sPinned {
		d.budget.compressors.release()
		d.sPinned = false
	}
	d.unpinLz()
}

// pin keeps w for the next message if the budget allows.
func (d *Deflate) pin(w *deflater) bool {
	if !d.sPinned {
		if !d.budget.compressors.acquire() {
			return false
		}
		d.sPinned = true
	}
	w.out.b = nil
	d.sPin = w
	return true
}

// minPack is the window length under which packing is not worth it.
const minPack = 256

// packWindow compresses the window h into p (when that saves memory) and
// returns the new pair; one of them is nil afterwards.
func (d *Deflate) packWindow(p packedWindow, h *[]byte) (packedWindow, *[]byte) {
	if h == nil || len(*h) < minPack {
		return p, h
	}
	out := getBuf(len(*h) / 2)
	if d.useLz {
		// The encoder this connection uses anyway; its sync-flushed
		// stream is read back by length.
		e := getLz(d.agreed.LocalMaxWindowBits, d.level, nil)
		*out = e.encode((*out)[:0], *h)
		putLz(e)
	} else {
		w := getDeflater(levelKey(max(d.level, BestSpeed)), out, nil)
		_, err := w.fw.Write(*h)
		if err == nil {
			err = w.fw.Close()
		}
		out = w.out.b
		putDeflater(w)
		if err != nil {
			putBuf(out)
			return p, h
		}
	}
	if len(*out) >= len(*h)*3/4 {
		putBuf(out)
		return p, h
	}
	p = packedWindow{data: append([]byte(nil), *out...), n: len(*h)}
	putBuf(out)
	putBuf(h)
	return p, nil
}

// unpackWindow restores a window stored by packWindow into a buffer of
// capacity w.
func unpackWindow(p packedWindow, w int) (*[]byte, error) {
	h := getBuf(w)
	fl := getInflater(p.data, nil)
	defer putInflater(fl)
	b := (*h)[:p.n]
	if _, err := io.ReadFull(fl.fr, b); err != nil {
		putBuf(h)
		return nil, fmt.Errorf("compress: restoring an idle window: %w", err)
	}
	*h = b
	return h, nil
}

// restoreSend and restoreReceive bring back the windows of an idle
// connection; the caller holds sMu or rMu.
func (d *Deflate) restoreSend() error    { return restore(&d.sPacked, &d.sHist, d.sendW) }
func (d *Deflate) restoreReceive() error { return restore(&d.rPacked, &d.rHist, d.recvW) }

func restore(p *packedWindow, h **[]byte, w int) error {
	if p.data == nil {
		return nil
	}
	b, err := unpackWindow(*p, w)
	if err != nil {
		return err
	}
	*h, *p = b, packedWindow{}
	return nil
}

// stopTimer stops the idle timer for good (Close).
func (d *Deflate) stopTimer() {
	d.tMu.Lock()
	d.tClosed = true
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.tMu.Unlock()
}
