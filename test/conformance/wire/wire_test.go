package wire

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/tetherws/tether/internal/inflateref"
)

func TestAcceptKeyRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func TestFrameRFCExamples(t *testing.T) {
	// RFC 6455 §5.7.
	for _, tc := range []struct {
		name string
		in   []byte
		want Frame
	}{
		{"unmasked Hello", []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, Frame{Fin: true, Opcode: OpText, Payload: []byte("Hello")}},
		{"masked Hello", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, Frame{Fin: true, Opcode: OpText, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Payload: []byte("Hello")}},
		{"first fragment", []byte{0x01, 0x03, 0x48, 0x65, 0x6c}, Frame{Opcode: OpText, Payload: []byte("Hel")}},
		{"ping", []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, Frame{Fin: true, Opcode: OpPing, Payload: []byte("Hello")}},
	} {
		f, err := Reader{bufio.NewReader(bytes.NewReader(tc.in))}.ReadFrame()
		if err != nil || fmt.Sprint(f) != fmt.Sprint(tc.want) || f.Masked != tc.want.Masked || f.Mask != tc.want.Mask {
			t.Errorf("%s: got %v %v, want %v", tc.name, f, err, tc.want)
		}
		if !tc.want.Masked {
			if got := Append(nil, tc.want, false); !bytes.Equal(got, tc.in) {
				t.Errorf("%s: Append = % x, want % x", tc.name, got, tc.in)
			}
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 128, 65535, 65536, 70000} {
		for _, mask := range []bool{false, true} {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(i * 7)
			}
			in := Frame{Fin: n%2 == 0, Rsv: byte(n % 8), Opcode: OpBinary, Payload: p}
			b := Append(nil, in, mask)
			out, err := Reader{bufio.NewReader(bytes.NewReader(b))}.ReadFrame()
			if err != nil || out.Fin != in.Fin || out.Rsv != in.Rsv || out.Masked != mask || !bytes.Equal(out.Payload, p) {
				t.Fatalf("n=%d mask=%v: %v %v", n, mask, out, err)
			}
		}
	}
}

func TestParseExtensions(t *testing.T) {
	h := http.Header{"Sec-Websocket-Extensions": {`permessage-deflate; client_max_window_bits="10"; server_no_context_takeover, x-foo`}}
	o, err := ParseExtensions(h)
	if err != nil || len(o) != 2 || o[0].String() != "permessage-deflate; client_max_window_bits=10; server_no_context_takeover" || o[1].Name != "x-foo" {
		t.Fatalf("%v %v", o, err)
	}
}

func corpus(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	words := []string{"alpha ", "beta ", "gamma ", "delta ", "\u00e9t\u00e9 ", "\u03ba\u1f79\u03c3\u03bc\u03b5 ", "x", "\n"}
	var b []byte
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
	}
	return b[:n]
}

// The raw deflater and inflater must agree for every window size, with
// and without context takeover.
func TestDeflateRoundTrip(t *testing.T) {
	for bits := 8; bits <= 15; bits++ {
		for _, nct := range []bool{false, true} {
			d := Deflater{WindowBits: bits, NoContextTakeover: nct}
			f := Inflater{WindowBits: bits, NoContextTakeover: nct}
			for i, n := range []int{0, 1, 16, 300, 5000, 70000, 16, 0, 2000} {
				msg := corpus(n, uint64(i))
				out, err := f.Decompress(d.Compress(msg), 1<<20)
				if err != nil || !bytes.Equal(out, msg) {
					t.Fatalf("bits=%d nct=%v msg %d: %v", bits, nct, i, err)
				}
			}
		}
	}
}

// lz77 really uses the history, and the inflater rejects a reference
// further back than it was given.
func TestLZ77WindowIsEnforced(t *testing.T) {
	msg := corpus(400, 3)
	d := Deflater{WindowBits: 9}
	first := d.Compress(msg)
	second := d.Compress(msg) // refers to the first message
	if len(second) >= len(first)/4 {
		t.Fatalf("second message not compressed against the first: %d vs %d bytes", len(second), len(first))
	}
	f := Inflater{WindowBits: 9, NoContextTakeover: true}
	if _, err := f.Decompress(first, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Decompress(second, 1<<20); err == nil {
		t.Fatal("a message referring to the previous one decoded without context takeover")
	}
}

// The distance audit agrees with what the compressors produce: stdlib
// streams of every level parse, and lz77 never exceeds its window.
func TestDistanceAudit(t *testing.T) {
	msg := corpus(100000, 5)
	for bits := 8; bits <= 15; bits++ {
		d := Deflater{WindowBits: bits}
		for range 3 {
			c := append(d.Compress(msg), tail...)
			got, err := inflateref.MaxDistance(c)
			if err != nil {
				t.Fatalf("bits %d: %v", bits, err)
			}
			if got > 1<<bits || got == 0 {
				t.Fatalf("bits %d: max distance %d", bits, got)
			}
		}
	}
	for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, 5, flate.BestCompression} {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, level)
		w.Write(msg)
		w.Close()
		if _, err := inflateref.MaxDistance(b.Bytes()); err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		// And the decoder agrees with compress/flate on the content
		// being a valid stream.
		if out, err := io.ReadAll(flate.NewReader(&b)); err != nil || !bytes.Equal(out, msg) {
			t.Fatal(err)
		}
	}
}
