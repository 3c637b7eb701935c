package ws

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	benchHeader Header
	benchN      int
	benchBytes  []byte
	benchBool   bool
)

func BenchmarkParseHeader(b *testing.B) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"7bit", AppendHeader(nil, Header{Fin: true, Opcode: OpText, Length: 100})},
		{"16bit_masked", AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Length: 1000, Masked: true, Mask: testKey})},
		{"64bit_masked", AppendHeader(nil, Header{Fin: true, Opcode: OpBinary, Length: 1 << 20, Masked: true, Mask: testKey})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchHeader, benchN, _ = ParseHeader(tc.in)
			}
		})
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	buf := make([]byte, 0, MaxHeaderSize)
	for _, tc := range []struct {
		name string
		h    Header
	}{
		{"7bit", Header{Fin: true, Opcode: OpText, Length: 100}},
		{"16bit_masked", Header{Fin: true, Opcode: OpBinary, Length: 1000, Masked: true, Mask: testKey}},
		{"64bit_masked", Header{Fin: true, Opcode: OpBinary, Length: 1 << 20, Masked: true, Mask: testKey}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendHeader(buf[:0], tc.h)
			}
			benchBytes = buf
		})
	}
}

var maskSizes = []struct {
	name string
	n    int
}{{"16B", 16}, {"1KiB", 1 << 10}, {"16KiB", 16 << 10}, {"256KiB", 256 << 10}}

func BenchmarkMask(b *testing.B) {
	for _, sz := range maskSizes {
		b.Run(sz.name, func(b *testing.B) {
			buf := make([]byte, sz.n)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				benchN = Mask(testKey, 1, buf)
			}
		})
	}
}

func BenchmarkMaskBytewise(b *testing.B) {
	for _, sz := range maskSizes {
		b.Run(sz.name, func(b *testing.B) {
			buf := make([]byte, sz.n)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				benchN = maskBytewise(testKey, 1, buf)
			}
		})
	}
}

var utf8Texts = []struct {
	name string
	text []byte
}{
	{"ASCII_16KiB", bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 16<<10/45)},
	{"multibyte_16KiB", bytes.Repeat([]byte("Größe καλημέρα κόσμε 日本語テキスト 😀 "), 16<<10/64)},
}

func BenchmarkUTF8Validator(b *testing.B) {
	for _, tc := range utf8Texts {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			b.ReportAllocs()
			var v UTF8Validator
			for b.Loop() {
				v.Reset()
				benchBool = v.Write(tc.text) && v.Complete()
			}
			if !benchBool {
				b.Fatal("invalid")
			}
		})
	}
}

func BenchmarkUTF8Valid(b *testing.B) {
	for _, tc := range utf8Texts {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			b.ReportAllocs()
			for b.Loop() {
				benchBool = utf8.Valid(tc.text)
			}
		})
	}
}

var frameSizes = []int{16, 1 << 10, 16 << 10}

func sizeName(n int) string {
	switch {
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// BenchmarkProtocolReceive measures a server receiving masked frames: parse,
// unmask, (for text) validate, deliver. It must not allocate.
func BenchmarkProtocolReceive(b *testing.B) {
	for _, op := range []Opcode{OpBinary, OpText} {
		for _, n := range frameSizes {
			b.Run(op.String()+"_"+sizeName(n), func(b *testing.B) {
				frame := from(Server, fr{op: op, fin: true, payload: []byte(strings.Repeat("x", n))})
				buf := make([]byte, len(frame))
				p := NewProtocol(Server, Config{})
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					copy(buf, frame) // the protocol unmasks in place
					if err := p.Feed(buf); err != nil {
						b.Fatal(err)
					}
					for {
						ev, err := p.Next()
						if err != nil {
							b.Fatal(err)
						}
						if ev.Kind == EventNone {
							break
						}
						benchN = len(ev.Payload)
					}
				}
			})
		}
	}
}

// BenchmarkProtocolSend measures AppendData into a reused buffer, masked
// (client) and unmasked (server). It must not allocate.
func BenchmarkProtocolSend(b *testing.B) {
	for _, side := range sides {
		for _, n := range frameSizes {
			b.Run(side.String()+"_"+sizeName(n), func(b *testing.B) {
				p := NewProtocol(side, Config{})
				payload := bytes.Repeat([]byte("x"), n)
				buf := make([]byte, 0, n+MaxHeaderSize)
				buf, _ = p.AppendData(buf, OpBinary, true, payload, false) // seed the masking key generator
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					buf, err = p.AppendData(buf[:0], OpBinary, true, payload, false)
					if err != nil {
						b.Fatal(err)
					}
				}
				benchBytes = buf
			})
		}
	}
}

// TestProtocolSteadyStateDoesNotAllocate pins the zero-allocation frame
// path so that a regression fails the tests, not only the benchmarks.
func TestProtocolSteadyStateDoesNotAllocate(t *testing.T) {
	for _, n := range frameSizes {
		frame := from(Server, fr{op: OpText, fin: true, payload: []byte(strings.Repeat("é", n/2))})
		buf := make([]byte, len(frame))
		s := NewProtocol(Server, Config{})
		recv := testing.AllocsPerRun(100, func() {
			copy(buf, frame)
			_ = s.Feed(buf)
			for {
				ev, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind == EventNone {
					break
				}
			}
		})
		c := NewProtocol(Client, Config{})
		out := make([]byte, 0, n+MaxHeaderSize)
		payload := make([]byte, n)
		out, _ = c.AppendData(out, OpBinary, true, payload, false)
		send := testing.AllocsPerRun(100, func() {
			out, _ = c.AppendData(out[:0], OpBinary, true, payload, false)
		})
		if recv != 0 || send != 0 {
			t.Errorf("%d bytes: receive allocates %v, send allocates %v", n, recv, send)
		}
	}
}

func TestProtocolExtensionPathDoesNotAllocate(t *testing.T) {
	ext := &fakeExt{name: "id", rsv: RSV1,
		decode: func(f *Frame, _ int64) error { f.Rsv &^= RSV1; return nil },
		encode: func(f *Frame) error { f.Rsv |= RSV1; return nil }}
	frame := from(Server, fr{op: OpBinary, fin: true, rsv: RSV1, payload: make([]byte, 1000)})
	buf := make([]byte, len(frame))
	s := NewProtocol(Server, Config{Extensions: []Extension{ext}})
	recv := testing.AllocsPerRun(100, func() {
		copy(buf, frame)
		_ = s.Feed(buf)
		for {
			ev, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == EventNone {
				break
			}
		}
	})
	out := make([]byte, 0, 2000)
	payload := make([]byte, 1000)
	send := testing.AllocsPerRun(100, func() {
		out, _ = s.AppendData(out[:0], OpBinary, true, payload, false)
	})
	if recv != 0 || send != 0 {
		t.Fatalf("receive allocates %v, send allocates %v", recv, send)
	}
	if s.sendFrame.Payload != nil || s.recvFrame.Payload != nil {
		t.Fatal("protocol keeps a payload alive")
	}
}
