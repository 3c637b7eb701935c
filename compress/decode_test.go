package compress

import (
	"bytes"
	"compress/flate"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/tetherws/tether/ws"
)

// clientWith returns a client Protocol with a negotiated extension (the
// server's window is 15 bits) and its extension.
func clientWith(t *testing.T, cfg ws.Config, so Options) (*ws.Protocol, *Deflate) {
	t.Helper()
	if so.ServerMaxWindowBits == 0 {
		so.ServerMaxWindowBits = 15
	}
	ce, se := handshake(t, Options{}, so)
	se.Close()
	t.Cleanup(ce.Close)
	cfg.Extensions = []ws.Extension{ce}
	return ws.NewProtocol(ws.Client, cfg), ce
}

func stdDeflate(b []byte, level int) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, level)
	w.Write(b)
	w.Flush()
	return bytes.TrimSuffix(buf.Bytes(), syncTail)
}

func wantProtocolError(t *testing.T, err error, code ws.CloseCode, msg string) {
	t.Helper()
	var pe *ws.ProtocolError
	if !errors.As(err, &pe) || pe.Code != code || msg != "" && pe.Msg != msg {
		t.Fatalf("err = %v, want %d %q", err, code, msg)
	}
}

// A small frame that inflates past the message size limit fails with 1009
// as soon as the limit is passed, without allocating much beyond it.
func TestDecompressionBomb(t *testing.T) {
	const limit = 1 << 20
	bomb := stdDeflate(make([]byte, 4<<20), 9) // 4 MiB of zeros
	if len(bomb) > 8<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	p, ext := clientWith(t, ws.Config{MaxMessageSize: limit}, Options{})
	wire := appendFrame(nil, ws.OpBinary, true, ws.RSV1, bomb)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := receive(t, p, wire)
	runtime.ReadMemStats(&after)
	wantProtocolError(t, err, ws.CloseMessageTooBig, "decoded frame exceeds limit of 1048576 bytes")
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 5*limit/2 {
		t.Errorf("allocated %d bytes to refuse the bomb", alloc)
	}
	if ext.rOut != nil && cap(*ext.rOut) > limit+64 {
		t.Errorf("output buffer of %d bytes", cap(*ext.rOut))
	}
	if out := p.TakeOutput(nil); len(out) == 0 || out[0] != 0x88 {
		t.Errorf("no close frame queued: % x", out)
	}
}

// The limit given to Decode is exact: a message of exactly the limit
// passes, one byte more fails; for a fragmented message the limit is what
// is left of the message budget.
func TestDecodeLimitIsExact(t *testing.T) {
	const limit = 10000
	for _, n := range []int{limit, limit + 1} {
		p, _ := clientWith(t, ws.Config{MaxMessageSize: limit}, Options{})
		msg := bytes.Repeat([]byte("a"), n)
		got, err := receive(t, p, appendFrame(nil, ws.OpText, true, ws.RSV1, stdDeflate(msg, 6)))
		if n == limit && (err != nil || !bytes.Equal(got[0], msg)) {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if n > limit {
			wantProtocolError(t, err, ws.CloseMessageTooBig, "decoded frame exceeds limit of 10000 bytes")
		}
	}
	// Fragmented: 6000 then 4001 bytes.
	peer := newStdPeer(t, 15, false)
	p, _ := clientWith(t, ws.Config{MaxMessageSize: limit}, Options{})
	wire := appendFrame(nil, ws.OpText, false, ws.RSV1, peer.frame(bytes.Repeat([]byte("b"), 6000), false))
	wire = appendFrame(wire, ws.OpContinuation, true, 0, peer.frame(bytes.Repeat([]byte("c"), 4001), true))
	_, err := receive(t, p, wire)
	wantProtocolError(t, err, ws.CloseMessageTooBig, "decoded frame after reading 6000 bytes exceeds limit of 10000 bytes")
}

func TestCorruptDataFails1002(t *testing.T) {
	good := stdDeflate(testCorpus(1)[0], 6)
	withHistory := func() []byte { // refers to a history the receiver lacks
		var buf bytes.Buffer
		w, _ := flate.NewWriterDict(&buf, 6, testCorpus(2)[1])
		w.Write(testCorpus(2)[1])
		w.Flush()
		return bytes.TrimSuffix(buf.Bytes(), syncTail)
	}()
	for name, payload := range map[string][]byte{
		"garbage":          []byte("this is not deflate data at all"),
		"reserved block":   {0x07, 0x00},
		"truncated":        good[:len(good)/2],
		"bad stored len":   {0x00, 0x05, 0x00, 0x00, 0x00, 'a'},
		"distance too far": withHistory,
		"trailing garbage": append(append([]byte(nil), stdDeflateFinal([]byte("done"))...), 0xde, 0xad, 0xbe, 0xef),
	} {
		t.Run(name, func(t *testing.T) {
			p, _ := clientWith(t, ws.Config{}, Options{})
			_, err := receive(t, p, appendFrame(nil, ws.OpText, true, ws.RSV1, payload))
			wantProtocolError(t, err, ws.CloseProtocolError, "decompression failed")
		})
	}
}

// stdDeflateFinal compresses b ending with a final block, as RFC 7692
// §7.2.3.5 allows, with the empty block a sender appends (minus its tail).
func stdDeflateFinal(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 6)
	w.Write(b)
	w.Close()
	return append(buf.Bytes(), 0x00)
}

func TestRSV1OnContinuationFails1002(t *testing.T) {
	peer := newStdPeer(t, 15, false)
	p, _ := clientWith(t, ws.Config{}, Options{})
	wire := appendFrame(nil, ws.OpText, false, ws.RSV1, peer.frame([]byte("abc"), false))
	wire = appendFrame(wire, ws.OpContinuation, true, ws.RSV1, peer.frame([]byte("def"), true))
	_, err := receive(t, p, wire)
	wantProtocolError(t, err, ws.CloseProtocolError, "RSV1 set on a continuation frame")

	// On an uncompressed message, ws itself refuses it.
	p, _ = clientWith(t, ws.Config{}, Options{})
	wire = appendFrame(nil, ws.OpText, false, 0, []byte("abc"))
	wire = appendFrame(wire, ws.OpContinuation, true, ws.RSV1, []byte("def"))
	_, err = receive(t, p, wire)
	wantProtocolError(t, err, ws.CloseProtocolError, "")
}

// Uncompressed messages (no RSV1) between compressed ones pass through and
// leave the history alone.
func TestUncompressedMessagesInterleaved(t *testing.T) {
	peer := newStdPeer(t, 15, false)
	p, _ := clientWith(t, ws.Config{}, Options{})
	for i, m := range testCorpus(40) {
		var wire []byte
		if i%3 == 1 {
			wire = appendFrame(nil, ws.OpText, true, 0, m)
		} else {
			wire = appendFrame(nil, ws.OpText, true, ws.RSV1, peer.message(m))
		}
		got, err := receive(t, p, wire)
		if err != nil || !bytes.Equal(got[0], m) {
			t.Fatalf("message %d: %v", i, err)
		}
	}
}

// A sender may cut the compressed data of a message anywhere (RFC 7692
// §6.1, as the Autobahn test suite does): frames that do not end on a
// block boundary are kept until one does, and the message arrives intact.
func TestCompressedDataCutAnywhere(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, noTakeover := range []bool{false, true} {
		peer := newStdPeer(t, 15, noTakeover)
		p, ext := clientWith(t, ws.Config{}, Options{ServerNoContextTakeover: noTakeover})
		for i, m := range windowCorpus() {
			data := peer.frame(m, true)
			var wire []byte
			for j := 0; j < len(data); {
				n := 1 + rng.IntN(max(1, len(data)/(1+i%8)))
				if i%4 == 0 {
					n = 1 // byte by byte
				}
				end := min(j+n, len(data))
				op, rsv := ws.OpContinuation, byte(0)
				if j == 0 {
					op, rsv = ws.OpText, ws.RSV1
				}
				wire = appendFrame(wire, op, end == len(data), rsv, data[j:end])
				j = end
			}
			got, err := receive(t, p, wire)
			if err != nil || len(got) != 1 || !bytes.Equal(got[0], m) {
				t.Fatalf("noTakeover %v message %d (%d bytes): %v", noTakeover, i, len(m), err)
			}
			if ext.rPend != nil {
				t.Fatal("compressed data kept after the message")
			}
		}
	}
}

// Frames that end with bytes looking like a flush marker, inside a stored
// block, are recognised as not ending on a boundary.
func TestFalseFlushMarkers(t *testing.T) {
	msg := bytes.Repeat([]byte("xy\x00\x00\xff\xffz"), 40)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.NoCompression)
	w.Write(msg)
	w.Flush()
	data := bytes.TrimSuffix(buf.Bytes(), syncTail)
	// Cut right after each false marker.
	p, ext := clientWith(t, ws.Config{}, Options{})
	var got []byte
	start, frames := 0, 0
	for i := 0; i+4 <= len(data); i++ {
		if bytes.Equal(data[i:i+4], syncTail) && i+4 < len(data) {
			op, rsv := ws.OpContinuation, byte(0)
			if start == 0 {
				op, rsv = ws.OpBinary, ws.RSV1
			}
			p.Feed(appendFrame(nil, op, false, rsv, data[start:i+4]))
			for {
				ev, err := p.Next()
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind == ws.EventNone {
					break
				}
				got = append(got, ev.Payload...)
			}
			start = i + 4
			frames++
		}
	}
	if frames < 10 || ext.rProbes != maxFailedProbes || ext.rPend == nil {
		t.Fatalf("%d frames, %d failed probes, kept %v", frames, ext.rProbes, ext.rPend != nil)
	}
	rest, err := receive(t, p, appendFrame(nil, ws.OpContinuation, true, 0, data[start:]))
	if err != nil {
		t.Fatal(err)
	}
	if got = append(got, rest[0]...); !bytes.Equal(got, msg) {
		t.Fatal("message differs")
	}
}

// A message ending with a final block (BFINAL), then one continuing from
// the same history; also without the empty block RFC 7692 asks for after
// it (Python's websockets accepts that).
func TestFinalBlockInMessage(t *testing.T) {
	msgs := testCorpus(3)
	p, _ := clientWith(t, ws.Config{}, Options{})
	got, err := receive(t, p, appendFrame(nil, ws.OpText, true, ws.RSV1, stdDeflateFinal(msgs[0])))
	if err != nil || !bytes.Equal(got[0], msgs[0]) {
		t.Fatalf("%v", err)
	}
	bare := stdDeflateFinal(msgs[2])
	got, err = receive(t, p, appendFrame(nil, ws.OpText, true, ws.RSV1, bare[:len(bare)-1]))
	if err != nil || !bytes.Equal(got[0], msgs[2]) {
		t.Fatalf("without the empty block: %v", err)
	}
	// The final block in the first frame of a fragmented message.
	wire := appendFrame(nil, ws.OpText, false, ws.RSV1, bare[:len(bare)-1])
	wire = appendFrame(wire, ws.OpContinuation, true, 0, stdDeflateFinal(msgs[0]))
	got, err = receive(t, p, wire)
	if err != nil || !bytes.Equal(got[0], append(bytes.Clone(msgs[2]), msgs[0]...)) {
		t.Fatalf("fragmented: %v", err)
	}
	var buf bytes.Buffer
	w, _ := flate.NewWriterDict(&buf, 6, append(append(bytes.Clone(msgs[0]), msgs[2]...), msgs[0]...))
	w.Write(msgs[1])
	w.Flush()
	got, err = receive(t, p, appendFrame(nil, ws.OpText, true, ws.RSV1, bytes.TrimSuffix(buf.Bytes(), syncTail)))
	if err != nil || !bytes.Equal(got[0], msgs[1]) {
		t.Fatalf("%v", err)
	}
}

// The limit is exact also for data ending with a final block and without
// the empty block after it (RFC 7692 §7.2.3.5), where the decoder's own
// end mark is never reached: up to 8 bytes over the limit used to pass
// (found by FuzzInflate).
func TestDecodeLimitIsExactWithoutTheEmptyBlock(t *testing.T) {
	const limit = 100
	for over := range 10 {
		msg := bytes.Repeat([]byte("z"), limit+over)
		bare := stdDeflateFinal(msg)
		p, _ := clientWith(t, ws.Config{MaxMessageSize: limit}, Options{})
		got, err := receive(t, p, appendFrame(nil, ws.OpBinary, true, ws.RSV1, bare[:len(bare)-1]))
		if over == 0 {
			if err != nil || !bytes.Equal(got[0], msg) {
				t.Fatalf("exactly the limit: %v", err)
			}
			continue
		}
		wantProtocolError(t, err, ws.CloseMessageTooBig, "decoded frame exceeds limit of 100 bytes")
	}
}

// Compressed data kept across frames is bounded by the limit.
func TestKeptDataIsBounded(t *testing.T) {
	const limit = 4096
	p, ext := clientWith(t, ws.Config{MaxMessageSize: limit}, Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 20000)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	data := stdDeflate(noise, 6) // stored blocks
	var err error
	for j := 0; j < len(data) && err == nil; j += 1000 {
		op, rsv := ws.OpContinuation, byte(0)
		if j == 0 {
			op, rsv = ws.OpBinary, ws.RSV1
		}
		_, err = receive(t, p, appendFrame(nil, op, false, rsv, data[j:min(j+1000, len(data))]))
		if ext.rPend != nil && len(*ext.rPend) > limit+limit/8+1024 {
			t.Fatalf("kept %d bytes", len(*ext.rPend))
		}
	}
	wantProtocolError(t, err, ws.CloseMessageTooBig, "")
}
