package ws

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// utf8Cases lists texts with the offset of their first invalid byte (-1:
// valid) and whether they end in the middle of a code point.
var utf8Cases = []struct {
	name      string
	in        string
	bad       int  // position of the first invalid byte, -1 if none
	truncated bool // valid prefix that ends inside a code point
}{
	{"empty", "", -1, false},
	{"ascii", "hello, world", -1, false},
	{"long ascii", strings.Repeat("abcdefgh", 9) + "x", -1, false},
	{"two-byte", "h\u00e9llo", -1, false},
	{"three-byte", "\u20ac", -1, false},
	{"four-byte", "\U0001F600", -1, false},
	{"U+0080 lowest two-byte", "\xc2\x80", -1, false},
	{"U+07FF", "\xdf\xbf", -1, false},
	{"U+0800 lowest three-byte", "\xe0\xa0\x80", -1, false},
	{"U+D7FF below surrogates", "\xed\x9f\xbf", -1, false},
	{"U+E000 above surrogates", "\xee\x80\x80", -1, false},
	{"U+FFFF", "\xef\xbf\xbf", -1, false},
	{"U+10000 lowest four-byte", "\xf0\x90\x80\x80", -1, false},
	{"U+10FFFF highest", "\xf4\x8f\xbf\xbf", -1, false},
	{"mixed after ascii run", strings.Repeat("a", 17) + "\u00e9\u20ac\U0001F600", -1, false},
	{"Autobahn 6.2 text", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", -1, false},

	{"stray continuation", "\x80", 0, false},
	{"stray continuation after ascii", "abc\xbf", 3, false},
	{"overlong C0", "\xc0\xaf", 0, false},
	{"overlong C1", "\xc1\xbf", 0, false},
	{"overlong three-byte", "\xe0\x80\xaf", 1, false},
	{"overlong three-byte max", "\xe0\x9f\xbf", 1, false},
	{"overlong four-byte", "\xf0\x80\x80\xaf", 1, false},
	{"overlong four-byte max", "\xf0\x8f\xbf\xbf", 1, false},
	{"surrogate D800", "\xed\xa0\x80", 1, false},
	{"surrogate DFFF", "\xed\xbf\xbf", 1, false},
	{"above U+10FFFF F4 90", "\xf4\x90\x80\x80", 1, false},
	{"F5 never starts", "\xf5\x80\x80\x80", 0, false},
	{"FF never starts", "ab\xff", 2, false},
	{"FE never starts", "\xfe", 0, false},
	{"missing continuation", "\xc3(", 1, false},
	{"three-byte cut by ascii", "\xe2\x82(", 2, false},
	{"four-byte cut by ascii", "\xf0\x9f\x98(", 3, false},
	{"bad after valid multibyte", "\u00e9\u20ac\xc0", 5, false},
	{"bad in the middle of a long ascii run", strings.Repeat("a", 20) + "\x80" + strings.Repeat("b", 20), 20, false},

	{"truncated two-byte", "\xc3", -1, true},
	{"truncated three-byte after one", "\xe2", -1, true},
	{"truncated three-byte after two", "\xe2\x82", -1, true},
	{"truncated four-byte after three", "a\xf0\x9f\x98", -1, true},
}

func TestUTF8ValidatorFailsAtFirstBadByte(t *testing.T) {
	for _, tt := range utf8Cases {
		t.Run(tt.name, func(t *testing.T) {
			var v UTF8Validator
			ok := v.Write([]byte(tt.in))
			if tt.bad >= 0 {
				if ok || !v.Failed() || v.Complete() || v.Pos() != int64(tt.bad) {
					t.Fatalf("Write = %v, Failed %v, Complete %v, Pos %d; want failure at %d", ok, v.Failed(), v.Complete(), v.Pos(), tt.bad)
				}
				// Stays failed until Reset.
				if v.Write([]byte("a")) || v.Pos() != int64(tt.bad) {
					t.Fatal("validator recovered without Reset")
				}
				v.Reset()
				if !v.Write([]byte("a")) || !v.Complete() || v.Pos() != 1 {
					t.Fatal("Reset did not clear the validator")
				}
				return
			}
			if !ok || v.Failed() || v.Pos() != int64(len(tt.in)) {
				t.Fatalf("Write = %v, Failed %v, Pos %d", ok, v.Failed(), v.Pos())
			}
			if v.Complete() == tt.truncated {
				t.Fatalf("Complete = %v, want %v", v.Complete(), !tt.truncated)
			}
			// Agrees with the standard library on complete input.
			if utf8.ValidString(tt.in) != !tt.truncated {
				t.Fatalf("disagrees with utf8.ValidString")
			}
		})
	}
}

func TestUTF8ValidatorAcceptsCodePointsSplitAtEveryBoundary(t *testing.T) {
	for _, tt := range utf8Cases {
		in := []byte(tt.in)
		// Every split into two pieces, and byte by byte.
		for split := 0; split <= len(in); split++ {
			var v UTF8Validator
			ok := v.Write(in[:split]) && v.Write(in[split:])
			checkUTF8Result(t, tt.name, split, &v, ok, tt.bad, tt.truncated)
		}
		var v UTF8Validator
		ok := true
		for i := range in {
			if !v.Write(in[i : i+1]) {
				ok = false
				break
			}
		}
		checkUTF8Result(t, tt.name, -1, &v, ok, tt.bad, tt.truncated)
	}
}

func checkUTF8Result(t *testing.T, name string, split int, v *UTF8Validator, ok bool, bad int, truncated bool) {
	t.Helper()
	switch {
	case bad >= 0:
		if ok || v.Pos() != int64(bad) {
			t.Errorf("%s split %d: ok %v pos %d, want failure at %d", name, split, ok, v.Pos(), bad)
		}
	case !ok:
		t.Errorf("%s split %d: rejected valid text at %d", name, split, v.Pos())
	case v.Complete() == truncated:
		t.Errorf("%s split %d: Complete = %v", name, split, v.Complete())
	}
}

func TestUTF8ValidatorAgreesWithStandardLibraryOnEveryTwoAndThreeByteInput(t *testing.T) {
	buf := make([]byte, 3)
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			buf[0], buf[1] = byte(a), byte(b)
			var v UTF8Validator
			got := v.Write(buf[:2]) && v.Complete()
			if got != utf8.Valid(buf[:2]) {
				t.Fatalf("% x: validator %v, utf8.Valid %v", buf[:2], got, !got)
			}
		}
	}
	// Three bytes with a lead in E0..F4: the interesting range.
	for a := 0xe0; a <= 0xf4; a++ {
		for b := 0x70; b < 0xd0; b++ {
			for c := 0x70; c < 0xd0; c += 7 {
				buf[0], buf[1], buf[2] = byte(a), byte(b), byte(c)
				var v UTF8Validator
				ok := v.Write(buf)
				prefixOK := ok && !v.Complete() // valid prefix of a 4-byte sequence
				if ok && v.Complete() != utf8.Valid(buf) {
					t.Fatalf("% x: Complete %v", buf, v.Complete())
				}
				if !ok && utf8.Valid(buf) {
					t.Fatalf("% x: rejected valid", buf)
				}
				if prefixOK && !utf8.FullRune(buf) && !utf8.Valid(append(buf[:3:3], 0x80)) {
					t.Fatalf("% x: accepted a prefix nothing completes", buf)
				}
			}
		}
	}
}

// slowValidate runs only the byte-wise machine: the reference for the fast
// path of Write.
func slowValidate(p []byte) (ok, complete bool, pos int64) {
	var v UTF8Validator
	ok = v.write(p)
	return ok, v.Complete(), v.Pos()
}

func TestUTF8ValidatorFastPathFindsEveryBadByteInLongText(t *testing.T) {
	text := []byte(strings.Repeat("Größe κόσμε 日本 😀 ascii run ", 4))
	for _, bad := range [][]byte{{0xff}, {0x80}, {0xc0}, {0xed, 0xa0, 0x80}, {0xf4, 0x90}, {0xe0, 0x80}} {
		for i := 0; i <= len(text); i++ {
			in := append(append(append([]byte{}, text[:i]...), bad...), text[i:]...)
			wantOK, wantComplete, wantPos := slowValidate(in)
			for _, split := range []int{0, 1, i / 2, i, len(in) - 1, len(in)} {
				var v UTF8Validator
				ok := v.Write(in[:split]) && v.Write(in[split:])
				if ok != wantOK || v.Complete() != wantComplete || v.Pos() != wantPos {
					t.Fatalf("bad % x at %d, split %d: ok %v complete %v pos %d; want %v %v %d",
						bad, i, split, ok, v.Complete(), v.Pos(), wantOK, wantComplete, wantPos)
				}
			}
			if wantOK && wantComplete != utf8.Valid(in) {
				t.Fatalf("reference disagrees with utf8.Valid at %d", i)
			}
		}
	}
}

func FuzzUTF8Validator(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{3})
	f.Add([]byte(strings.Repeat("κόσμε", 10)+"\xed\xa0\x80"), []byte{7, 1})
	f.Add([]byte(strings.Repeat("a", 30)+"\xf4\x90\x80\x80"), []byte{20})
	f.Add([]byte("😀😀😀😀😀\xf0\x9f\x98"), []byte{2, 2, 2})
	f.Fuzz(func(t *testing.T, p, splits []byte) {
		wantOK, wantComplete, wantPos := slowValidate(p)
		var v UTF8Validator
		ok := true
		rest := p
		for i := 0; ok && len(rest) > 0; i++ {
			k := len(rest)
			if i < len(splits) {
				k = min(k, int(splits[i]))
			}
			ok = v.Write(rest[:k])
			rest = rest[k:]
		}
		if ok != wantOK || v.Complete() != wantComplete || v.Pos() != wantPos {
			t.Fatalf("Write: ok %v complete %v pos %d; byte-wise: %v %v %d", ok, v.Complete(), v.Pos(), wantOK, wantComplete, wantPos)
		}
		if wantOK && wantComplete != utf8.Valid(p) || !wantOK && utf8.Valid(p) {
			t.Fatalf("byte-wise machine disagrees with utf8.Valid")
		}
	})
}
