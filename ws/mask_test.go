package ws

import (
	"bytes"
	"testing"
)

func TestMaskAgreesWithBytewiseForEveryLengthAndPosition(t *testing.T) {
	key := [4]byte{0xa1, 0x5b, 0x3c, 0xf7}
	src := make([]byte, 200+8)
	for i := range src {
		src[i] = byte(i*31 + 7)
	}
	for off := 0; off < 8; off++ { // also vary the alignment of the buffer
		for n := 0; n <= 200; n++ {
			for pos := 0; pos < 8; pos++ { // pos beyond 3 must wrap
				got := bytes.Clone(src[off : off+n])
				want := bytes.Clone(src[off : off+n])
				gp := Mask(key, pos, got)
				wp := maskBytewise(key, pos, want)
				if gp != wp || !bytes.Equal(got, want) {
					t.Fatalf("off %d len %d pos %d: Mask = %d % x, bytewise = %d % x", off, n, pos, gp, got, wp, want)
				}
			}
		}
	}
}

func TestMaskInPiecesEqualsMaskInOneGo(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	payload := bytes.Repeat([]byte("masking across pieces "), 20)
	whole := bytes.Clone(payload)
	Mask(key, 0, whole)
	for split := 0; split <= len(payload); split++ {
		got := bytes.Clone(payload)
		pos := Mask(key, 0, got[:split])
		pos = Mask(key, pos, got[split:])
		if !bytes.Equal(got, whole) || pos != len(payload)&3 {
			t.Fatalf("split at %d differs", split)
		}
	}
}

func TestMaskTwiceRestoresPayload(t *testing.T) {
	key := [4]byte{0xde, 0xad, 0xbe, 0xef}
	orig := bytes.Repeat([]byte{0, 1, 2, 3, 0xff}, 100)
	b := bytes.Clone(orig)
	Mask(key, 0, b)
	if bytes.Equal(b, orig) {
		t.Fatal("Mask did nothing")
	}
	Mask(key, 0, b)
	if !bytes.Equal(b, orig) {
		t.Fatal("masking twice does not restore the payload")
	}
}

func TestMaskMatchesRFC6455Example(t *testing.T) {
	// RFC 6455 §5.7: a masked "Hello".
	frame := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	h, n, err := ParseHeader(frame)
	if err != nil {
		t.Fatal(err)
	}
	p := bytes.Clone(frame[n:])
	Mask(h.Mask, 0, p)
	if string(p) != "Hello" {
		t.Fatalf("unmasked %q", p)
	}
}
