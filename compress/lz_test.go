package compress

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"testing"
)

// inflateStream inflates the concatenated sync-flushed messages of one
// stream with the standard library and returns each message's output.
func inflateStream(t *testing.T, wire [][]byte, lens []int) [][]byte {
	t.Helper()
	var all []byte
	for _, w := range wire {
		all = append(all, w...)
	}
	r := flate.NewReader(bytes.NewReader(all))
	out := make([][]byte, len(wire))
	for i, n := range lens {
		out[i] = make([]byte, n)
		if _, err := io.ReadFull(r, out[i]); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	return out
}

func TestLzEncoderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := testCorpus(300)
	// Add random, repetitive and empty messages.
	for range 20 {
		b := make([]byte, rng.IntN(70000))
		for i := range b {
			b[i] = byte(rng.IntN(4 + rng.IntN(250)))
		}
		msgs = append(msgs, b, bytes.Repeat([]byte("ab"), rng.IntN(40000)), nil, []byte("x"))
	}
	for _, bits := range []int{8, 9, 12, 14} {
		for _, level := range []int{1, 5, 9} {
			e := getLz(bits, level, nil)
			var wire [][]byte
			var lens []int
			for _, m := range msgs {
				wire = append(wire, e.encode(nil, m))
				lens = append(lens, len(m))
			}
			got := inflateStream(t, wire, lens)
			for i, m := range msgs {
				if !bytes.Equal(got[i], m) {
					t.Fatalf("bits %d level %d message %d differs", bits, level, i)
				}
			}
		}
	}
}
