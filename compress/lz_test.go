package compress

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/tetherws/tether/ws"
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

// kraftComplete reports whether lens form a complete prefix code (or a
// single code of one bit) with no length over maxBits.
func kraftComplete(lens []uint8, maxBits uint8) bool {
	var sum, n uint64
	for _, l := range lens {
		if l == 0 {
			continue
		}
		if l > maxBits {
			return false
		}
		n++
		sum += 1 << (maxBits - l)
	}
	return sum == 1<<maxBits || n == 1 && sum == 1<<(maxBits-1)
}

// Code lengths are complete codes within the limit, including counts
// that make an unlimited Huffman code deeper than the limit.
func TestHuffmanLengthsAreCompleteAndLimited(t *testing.T) {
	var s huffScratch
	rng := rand.New(rand.NewPCG(3, 4))
	fib := make([]uint32, numLitCodes)
	a, b := uint32(1), uint32(1)
	for i := range 30 { // Fibonacci counts: a Huffman code 29 bits deep
		fib[i] = a
		a, b = b, a+b
	}
	cases := [][]uint32{fib, fib[:numGenCodes], {0, 5}, {7}}
	for range 200 {
		f := make([]uint32, 1+rng.IntN(numLitCodes))
		for i := range f {
			if rng.IntN(3) > 0 {
				f[i] = uint32(rng.ExpFloat64() * float64(1+rng.IntN(1000)))
			}
		}
		cases = append(cases, f)
	}
	for i, f := range cases {
		for _, maxBits := range []uint8{7, 15} {
			if len(f) > numGenCodes && maxBits == 7 {
				continue
			}
			lens := make([]uint8, len(f))
			s.buildLengths(f, maxBits, lens)
			used := 0
			for j, c := range f {
				if (c != 0) != (lens[j] != 0) {
					t.Fatalf("case %d: symbol %d count %d length %d", i, j, c, lens[j])
				}
				if c != 0 {
					used++
				}
			}
			if used > 0 && !kraftComplete(lens, maxBits) {
				t.Fatalf("case %d, %d bits: lengths %v are not a complete code", i, maxBits, lens)
			}
		}
	}
}

// A block whose literal counts force the code length limit inflates with
// the standard library, which refuses incomplete and over-long codes.
func TestBlockWithSkewedLiterals(t *testing.T) {
	var msg []byte
	a, b := 1, 1
	for sym := range 22 {
		for range a {
			msg = append(msg, byte(sym*7))
		}
		a, b = b, a+b
	}
	rng := rand.New(rand.NewPCG(5, 6))
	rng.Shuffle(len(msg), func(i, j int) { msg[i], msg[j] = msg[j], msg[i] })
	var s huffScratch
	for _, c := range msg {
		s.literal(c)
	}
	w := bitWriter{}
	s.writeBlock(&w, msg)
	w.bits(0, 3)
	w.flush()
	data := append(w.dst, 0, 0, 0xff, 0xff)
	if len(data) > len(msg)/2 {
		t.Fatalf("%d bytes for %d: not Huffman coded", len(data), len(msg))
	}
	got := inflateStream(t, [][]byte{data}, []int{len(msg)})
	if !bytes.Equal(got[0], msg) {
		t.Fatal("output differs")
	}
}

// Compressing and inflating a message allocates nothing in steady state,
// with a kept encoder, a pooled one, and without context takeover.
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	msgs := testCorpus(64)
	for _, c := range []struct {
		name string
		opts Options
	}{{"kept", Default}, {"pooled", Options{BusyEncoders: -1}}, {"no context takeover", Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true}}} {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := handshake(t, c.opts, c.opts)
			if !enc.useLz || enc.keepSend == c.opts.ClientNoContextTakeover {
				t.Fatalf("negotiated %+v: not the case under test", enc.Agreement())
			}
			defer enc.Close()
			defer dec.Close()
			i := 0
			step := func() {
				m := msgs[i%len(msgs)]
				i++
				f := ws.Frame{Opcode: ws.OpText, Fin: true, Payload: m}
				if err := enc.Encode(&f); err != nil {
					t.Fatal(err)
				}
				if err := dec.Decode(&f, 1<<20); err != nil || !bytes.Equal(f.Payload, m) {
					t.Fatalf("round trip: %v", err)
				}
			}
			for range 2 * len(msgs) {
				step()
			}
			if n := testing.AllocsPerRun(500, step); n != 0 {
				t.Errorf("%v allocations per message", n)
			}
		})
	}
}
