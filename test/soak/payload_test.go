package soak

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestPayloadHeaderRoundTripsAtExactSize(t *testing.T) {
	for _, size := range []int{HeaderSize, HeaderSize + 1, 128, 4096} {
		p := appendPayload([]byte("prefix"), 12345, 9876543210, size)
		p = p[len("prefix"):]
		if len(p) != size {
			t.Fatalf("size %d: payload is %d bytes", size, len(p))
		}
		if !utf8.Valid(p) {
			t.Fatalf("size %d: payload is not UTF-8", size)
		}
		conn, seq, err := parseHeader(p)
		if err != nil || conn != 12345 || seq != 9876543210 {
			t.Fatalf("size %d: parseHeader = %d, %d, %v", size, conn, seq, err)
		}
	}
}

func TestPayloadDiffersBySequenceAndIsDeterministic(t *testing.T) {
	a := appendPayload(nil, 1, 7, 256)
	b := appendPayload(nil, 1, 8, 256)
	if bytes.Equal(a[HeaderSize:], b[HeaderSize:]) {
		t.Fatal("messages 7 and 8 have the same filler")
	}
	if !bytes.Equal(a, appendPayload(nil, 1, 7, 256)) {
		t.Fatal("the same message built twice differs")
	}
}

func TestPayloadBadHeaderIsRefused(t *testing.T) {
	good := appendPayload(nil, 3, 4, 64)
	cases := map[string][]byte{
		"short":         good[:HeaderSize-1],
		"no c":          append([]byte("x"), good[1:]...),
		"digit garbled": append(append([]byte{}, good[:12]...), append([]byte("z"), good[13:]...)...),
	}
	for name, p := range cases {
		if _, _, err := parseHeader(p); !errors.Is(err, errBadHeader) {
			t.Errorf("%s: parseHeader error = %v, want errBadHeader", name, err)
		}
	}
}
