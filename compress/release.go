package compress

// ReleaseSendBuffers gives back the output buffer of Encode: the payload
// it last returned must not be used any more. Call it from the goroutine
// that sends, e.g. when the send queue is empty.
func (d *Deflate) ReleaseSendBuffers() {
	d.sMu.Lock()
	putBuf(d.sOut)
	d.sOut = nil
	d.sMu.Unlock()
}

// ReleaseReceiveBuffers gives back the output buffer of Decode: the
// payload it last returned must not be used any more. Call it from the
// goroutine that receives, e.g. before waiting for more input.
func (d *Deflate) ReleaseReceiveBuffers() {
	d.rMu.Lock()
	putBuf(d.rOut)
	d.rOut = nil
	d.rMu.Unlock()
}

// ReleaseBuffers gives back the output buffers of both directions, so
// that an idle connection keeps only its history windows. It must not run
// concurrently with Encode or Decode.
func (d *Deflate) ReleaseBuffers() {
	d.ReleaseSendBuffers()
	d.ReleaseReceiveBuffers()
}

// Close gives back every buffer and any borrowed compressor. It
// implements ws.ExtensionCloser; the extension must not be used after.
func (d *Deflate) Close() {
	d.stopTimer()
	d.sMu.Lock()
	defer d.sMu.Unlock()
	d.rMu.Lock()
	defer d.rMu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	d.dropParked()
	if d.sLz != nil && d.sLz != d.sLzPin {
		putLz(d.sLz)
	}
	d.sLz = nil
	d.unpin()
	if d.sDefl != nil {
		putDeflater(d.sDefl)
		d.sDefl = nil
	}
	for _, b := range []**[]byte{&d.sOut, &d.rOut, &d.sHist, &d.rHist, &d.rPend} {
		putBuf(*b)
		*b = nil
	}
	d.sPacked, d.rPacked = packedWindow{}, packedWindow{}
}
