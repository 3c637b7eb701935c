package ws

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestOpcodeClassification(t *testing.T) {
	tests := []struct {
		op                   Opcode
		control, data, valid bool
		name                 string
	}{
		{OpContinuation, false, true, true, "CONT"},
		{OpText, false, true, true, "TEXT"},
		{OpBinary, false, true, true, "BINARY"},
		{0x3, false, false, false, "OPCODE(3)"},
		{0x7, false, false, false, "OPCODE(7)"},
		{OpClose, true, false, true, "CLOSE"},
		{OpPing, true, false, true, "PING"},
		{OpPong, true, false, true, "PONG"},
		{0xB, true, false, false, "OPCODE(11)"},
		{0xF, true, false, false, "OPCODE(15)"},
	}
	for _, tt := range tests {
		if got := tt.op.IsControl(); got != tt.control {
			t.Errorf("%v.IsControl() = %v", tt.op, got)
		}
		if got := tt.op.IsData(); got != tt.data {
			t.Errorf("%v.IsData() = %v", tt.op, got)
		}
		if got := tt.op.Valid(); got != tt.valid {
			t.Errorf("%v.Valid() = %v", tt.op, got)
		}
		if got := tt.op.String(); got != tt.name {
			t.Errorf("Opcode(%d).String() = %q, want %q", byte(tt.op), got, tt.name)
		}
	}
}

func TestParseHeaderDecodesEveryLengthForm(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name string
		in   []byte
		want Header
		n    int
	}{
		{"empty text", []byte{0x81, 0x00}, Header{Fin: true, Opcode: OpText}, 2},
		{"125 inline", []byte{0x82, 125}, Header{Fin: true, Opcode: OpBinary, Length: 125}, 2},
		{"126 in 16 bits", []byte{0x02, 126, 0, 126}, Header{Opcode: OpBinary, Length: 126}, 4},
		{"65535 in 16 bits", []byte{0x80, 126, 0xff, 0xff}, Header{Fin: true, Opcode: OpContinuation, Length: 65535}, 4},
		{"65536 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, Header{Fin: true, Opcode: OpBinary, Length: 65536}, 10},
		{"largest 64-bit length", []byte{0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Header{Fin: true, Opcode: OpBinary, Length: math.MaxInt64}, 10},
		{"masked inline", []byte{0x89, 0x85, 1, 2, 3, 4}, Header{Fin: true, Opcode: OpPing, Masked: true, Mask: key, Length: 5}, 6},
		{"masked 16 bits", []byte{0x81, 0xfe, 0x01, 0x00, 1, 2, 3, 4}, Header{Fin: true, Opcode: OpText, Masked: true, Mask: key, Length: 256}, 8},
		{"masked 64 bits", []byte{0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4}, Header{Fin: true, Opcode: OpText, Masked: true, Mask: key, Length: 65536}, 14},
		{"all rsv bits", []byte{0xf1, 0x00}, Header{Fin: true, Rsv: RSV1 | RSV2 | RSV3, Opcode: OpText}, 2},
		{"rsv1 only", []byte{0x41, 0x00}, Header{Rsv: RSV1, Opcode: OpText}, 2},
		{"reserved opcode is decoded", []byte{0x83, 0x00}, Header{Fin: true, Opcode: 3}, 2},
		{"trailing payload ignored", []byte{0x81, 0x02, 'h', 'i'}, Header{Fin: true, Opcode: OpText, Length: 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := ParseHeader(tt.in)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if h != tt.want || n != tt.n {
				t.Fatalf("got %+v, %d; want %+v, %d", h, n, tt.want, tt.n)
			}
		})
	}
}

func TestParseHeaderRejectsNonMinimalLength(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		n    int
	}{
		{"0 in 16 bits", []byte{0x82, 126, 0, 0}, 4},
		{"125 in 16 bits", []byte{0x82, 126, 0, 125}, 4},
		{"125 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 125}, 10},
		{"126 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 126}, 10},
		{"65535 in 64 bits", []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 10},
		{"masked 65535 in 64 bits", []byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := ParseHeader(tt.in)
			if !errors.Is(err, ErrNonMinimalLength) || n != tt.n {
				t.Fatalf("got n=%d err=%v; want n=%d ErrNonMinimalLength", n, err, tt.n)
			}
		})
	}
}

func TestParseHeaderRejects64BitLengthWithTopBitSet(t *testing.T) {
	for _, in := range [][]byte{
		{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
	} {
		_, n, err := ParseHeader(in)
		if !errors.Is(err, ErrLengthOverflow) || n != 10 {
			t.Errorf("ParseHeader(% x) = n %d, err %v; want ErrLengthOverflow", in, n, err)
		}
	}
}

func TestParseHeaderSignalsNeedMoreAtEveryTruncationWithoutAllocating(t *testing.T) {
	full := [][]byte{
		{0x81, 0x05},
		{0x81, 0x85, 1, 2, 3, 4},
		{0x82, 126, 0x01, 0x00},
		{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4},
		{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0},
		{0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
	}
	for _, f := range full {
		for cut := 0; cut < len(f); cut++ {
			in := f[:cut]
			h, n, err := ParseHeader(in)
			if !errors.Is(err, ErrNeedMore) || n != 0 {
				t.Errorf("ParseHeader(% x) = %+v, %d, %v; want ErrNeedMore", in, h, n, err)
			}
			allocs := testing.AllocsPerRun(100, func() { _, _, _ = ParseHeader(in) })
			if allocs != 0 {
				t.Errorf("ParseHeader(% x) allocates %v times", in, allocs)
			}
		}
		if _, n, err := ParseHeader(f); err != nil || n != len(f) {
			t.Errorf("ParseHeader(% x) = %d, %v", f, n, err)
		}
	}
}

func TestAppendHeaderUsesMinimalLengthEncoding(t *testing.T) {
	tests := []struct {
		length int64
		want   []byte
	}{
		{0, []byte{0x82, 0}},
		{125, []byte{0x82, 125}},
		{126, []byte{0x82, 126, 0, 126}},
		{65535, []byte{0x82, 126, 0xff, 0xff}},
		{65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{1 << 62, []byte{0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		h := Header{Fin: true, Opcode: OpBinary, Length: tt.length}
		got := AppendHeader(nil, h)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("AppendHeader(len %d) = % x, want % x", tt.length, got, tt.want)
		}
		if HeaderSize(tt.length, false) != len(got) {
			t.Errorf("HeaderSize(%d, false) = %d, want %d", tt.length, HeaderSize(tt.length, false), len(got))
		}
		back, n, err := ParseHeader(got)
		if err != nil || n != len(got) || back != h {
			t.Errorf("round trip of %+v: %+v, %d, %v", h, back, n, err)
		}
		// Masked form: the key follows the length, and the mask bit is set.
		hm := h
		hm.Masked, hm.Mask = true, [4]byte{9, 8, 7, 6}
		gm := AppendHeader([]byte("prefix"), hm)
		if string(gm[:6]) != "prefix" {
			t.Fatalf("AppendHeader overwrote dst: %q", gm[:6])
		}
		gm = gm[6:]
		if len(gm) != len(got)+4 || gm[1]&0x80 == 0 || !bytes.Equal(gm[len(gm)-4:], []byte{9, 8, 7, 6}) {
			t.Errorf("masked AppendHeader(len %d) = % x", tt.length, gm)
		}
		if HeaderSize(tt.length, true) != len(gm) {
			t.Errorf("HeaderSize(%d, true) = %d, want %d", tt.length, HeaderSize(tt.length, true), len(gm))
		}
		back, n, err = ParseHeader(gm)
		if err != nil || n != len(gm) || back != hm {
			t.Errorf("round trip of %+v: %+v, %d, %v", hm, back, n, err)
		}
	}
}

func TestAppendHeaderEncodesFinRsvAndOpcodeBits(t *testing.T) {
	tests := []struct {
		h  Header
		b0 byte
	}{
		{Header{Opcode: OpContinuation}, 0x00},
		{Header{Fin: true, Opcode: OpText}, 0x81},
		{Header{Fin: true, Rsv: RSV1, Opcode: OpText}, 0xc1},
		{Header{Rsv: RSV2 | RSV3, Opcode: OpBinary}, 0x32},
		{Header{Fin: true, Rsv: 0xff, Opcode: OpClose}, 0xf8}, // stray bits outside RSV are dropped
		{Header{Fin: true, Opcode: 0xff}, 0x8f},               // opcode is cut to 4 bits
	}
	for _, tt := range tests {
		got := AppendHeader(nil, tt.h)
		if got[0] != tt.b0 {
			t.Errorf("AppendHeader(%+v)[0] = %#x, want %#x", tt.h, got[0], tt.b0)
		}
	}
}

func TestAppendHeaderDoesNotAllocateWithCapacity(t *testing.T) {
	buf := make([]byte, 0, MaxHeaderSize)
	h := Header{Fin: true, Opcode: OpBinary, Masked: true, Length: 1 << 20}
	if a := testing.AllocsPerRun(100, func() { buf = AppendHeader(buf[:0], h) }); a != 0 {
		t.Fatalf("AppendHeader allocates %v times", a)
	}
	if len(buf) != MaxHeaderSize {
		t.Fatalf("largest header is %d bytes, want MaxHeaderSize %d", len(buf), MaxHeaderSize)
	}
}

func TestItoaFormatsSignedIntegers(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0"}, {7, "7"}, {-7, "-7"}, {1009, "1009"}, {math.MaxInt64, "9223372036854775807"}, {math.MinInt64, "-9223372036854775808"}} {
		if got := itoa(tt.n); got != tt.want {
			t.Errorf("itoa(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
