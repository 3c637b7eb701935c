package compress

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tetherws/tether/internal/inflateref"
	"github.com/tetherws/tether/ws"
)

// windowCorpus is corpus messages plus large ones that span several
// windows, so that the compressor has old matches to be tempted by.
func windowCorpus() [][]byte {
	msgs := testCorpus(120)
	var big []byte
	for _, m := range msgs[:60] {
		big = append(big, m...)
	}
	out := append([][]byte(nil), msgs[60:]...)
	out = append(out, big, msgs[0], bytes.Repeat([]byte("0123456789abcdef"), 3000), msgs[1], big[:5000])
	// Short messages (the built-in encoder): pieces of the others, and
	// runs that match themselves.
	for i, m := range msgs[:40] {
		n := 1 + i*13%127
		if i%2 == 0 {
			out = append(out, m[:n])
		} else {
			out = append(out, m[len(m)-n:])
		}
	}
	out = append(out, bytes.Repeat([]byte("ab"), 60), bytes.Repeat([]byte{0}, 127), []byte("x"), nil)
	return out
}

// encodeMessage compresses msg with d, in frames of frag bytes (0: one),
// and returns the compressed data of the message as it would be inflated.
func encodeMessage(t testing.TB, d *Deflate, msg []byte, frag int) []byte {
	t.Helper()
	var data []byte
	if frag <= 0 {
		frag = len(msg) + 1
	}
	for i := 0; ; i += frag {
		end := min(i+frag, len(msg))
		f := ws.Frame{Opcode: ws.OpBinary, Fin: end == len(msg), Payload: msg[i:end]}
		if i > 0 {
			f.Opcode = ws.OpContinuation
		}
		if err := d.Encode(&f); err != nil {
			t.Fatal(err)
		}
		if (i == 0) != (f.Rsv == ws.RSV1) {
			t.Fatalf("frame at %d: rsv %#x", i, f.Rsv)
		}
		data = append(data, f.Payload...)
		if f.Fin {
			return append(data, syncTail...)
		}
	}
}

// The compressor never emits a back-reference longer than the negotiated
// window, at every window, level and fragmentation, with and without
// context takeover; a strict decoder with exactly that window inflates
// every message.
func TestCompressedOutputRespectsWindow(t *testing.T) {
	msgs := windowCorpus()
	for bits := 8; bits <= 15; bits++ {
		window := 1 << bits
		for _, level := range []int{1, 3, 5, 6, 9, HuffmanOnly} {
			for _, noTakeover := range []bool{false, true} {
				name := fmt.Sprintf("bits=%d/level=%d/noTakeover=%v", bits, level, noTakeover)
				t.Run(name, func(t *testing.T) {
					d := newDeflate(&Options{Level: level}, Agreement{LocalNoContextTakeover: noTakeover, LocalMaxWindowBits: bits, RemoteMaxWindowBits: 15}, nil, nil)
					defer d.Close()
					var hist []byte
					maxDist := 0
					for i, m := range msgs {
						frag := []int{0, 0, 0, 1000, 333}[i%5]
						data := encodeMessage(t, d, m, frag)
						if noTakeover {
							hist = nil
						}
						got, dist, err := inflateref.Inflate(hist, data, window)
						if err != nil {
							t.Fatalf("message %d (%d bytes, frag %d): %v", i, len(m), frag, err)
						}
						if !bytes.Equal(got, m) {
							t.Fatalf("message %d: output differs", i)
						}
						maxDist = max(maxDist, dist)
						hist = append(hist, m...)
					}
					if level != HuffmanOnly && maxDist < window/2 {
						t.Errorf("largest distance %d: the test did not exercise the %d-byte window", maxDist, window)
					}
				})
			}
		}
	}
}
