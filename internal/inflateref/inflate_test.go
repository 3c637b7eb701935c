package inflateref

import (
	"bytes"
	"compress/flate"
	"errors"
	"strings"
	"testing"

	"github.com/tetherws/tether/internal/corpus"
)

// syncFlushed compresses each message with one flate writer, sync-flushing
// after each as permessage-deflate does, and returns each message's part
// of the stream.
func syncFlushed(t *testing.T, level int, dict []byte, msgs [][]byte) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriterDict(&buf, level, dict)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([][]byte, len(msgs))
	for i, m := range msgs {
		buf.Reset()
		if _, err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		parts[i] = bytes.Clone(buf.Bytes())
	}
	return parts
}

// closed compresses msg into one stream that ends with a final block.
func closed(t *testing.T, level int, msg []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Inflate must agree with the standard library on the output of every
// kind of block (stored, fixed, dynamic), message after message with the
// earlier ones as history, and MaxDistance must see the same distances.
func TestInflateAgreesWithStdlibAndMaxDistance(t *testing.T) {
	msgs := corpus.Messages(7, 60)
	for _, level := range []int{flate.NoCompression, flate.HuffmanOnly, flate.BestSpeed, 6, flate.BestCompression} {
		var hist []byte
		sawDistance := false
		for i, part := range syncFlushed(t, level, nil, msgs) {
			got, dist, err := Inflate(hist, part, maxWindow)
			if err != nil || !bytes.Equal(got, msgs[i]) {
				t.Fatalf("level %d, message %d: err %v, output equal %v", level, i, err, bytes.Equal(got, msgs[i]))
			}
			parsed, err := MaxDistance(part)
			if err != nil || parsed != dist {
				t.Fatalf("level %d, message %d: MaxDistance %d (err %v), Inflate saw %d", level, i, parsed, err, dist)
			}
			sawDistance = sawDistance || dist > 0
			hist = append(hist, msgs[i]...)
		}
		if compresses := level != flate.NoCompression && level != flate.HuffmanOnly; compresses != sawDistance {
			t.Errorf("level %d: back-references seen %v, want %v", level, sawDistance, compresses)
		}
	}
}

// A reference one byte beyond the window is an error for Inflate, and
// MaxDistance reports it for the caller to compare.
func TestInflateRejectsADistanceBeyondTheWindow(t *testing.T) {
	stream := syncFlushed(t, 6, nil, [][]byte{[]byte("abcdefghabcdefghabcdefgh")})[0]
	if out, d, err := Inflate(nil, stream, 8); err != nil || d != 8 || string(out) != "abcdefghabcdefghabcdefgh" {
		t.Fatalf("window 8: output %q, largest distance %d, err %v", out, d, err)
	}
	if _, _, err := Inflate(nil, stream, 7); err == nil || !strings.Contains(err.Error(), "beyond the 7-byte window") {
		t.Fatalf("window 7: a distance of 8 gave err %v", err)
	}
	if d, err := MaxDistance(stream); err != nil || d != 8 {
		t.Fatalf("MaxDistance = %d, %v; want 8", d, err)
	}
}

// A reference into bytes the decoder was not given is an error for
// Inflate; MaxDistance needs no history at all.
func TestInflateRejectsAReferenceBeforeItsHistory(t *testing.T) {
	dict := []byte("the quick brown fox jumps over the lazy dog")
	stream := syncFlushed(t, 6, dict, [][]byte{dict})[0]
	if _, _, err := Inflate(nil, stream, maxWindow); err == nil || !strings.Contains(err.Error(), "bytes of history") {
		t.Fatalf("without the history: err %v", err)
	}
	out, d, err := Inflate(dict, stream, maxWindow)
	if err != nil || !bytes.Equal(out, dict) || d != len(dict) {
		t.Fatalf("with the history: output %q, largest distance %d, err %v", out, d, err)
	}
	if got, err := MaxDistance(stream); err != nil || got != d {
		t.Fatalf("MaxDistance = %d, %v; want %d", got, err, d)
	}
}

// Inflate keeps only the last 32 KiB of a longer history, the most a
// distance can reach, and still decodes against it.
func TestInflateTrimsHistoryToTheLargestWindow(t *testing.T) {
	long := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	dict := long[len(long)-maxWindow:]
	msg := long[len(long)-100:]
	stream := syncFlushed(t, 6, dict, [][]byte{msg})[0]
	out, d, err := Inflate(long, stream, maxWindow)
	if err != nil || !bytes.Equal(out, msg) || d == 0 {
		t.Fatalf("output equal %v, largest distance %d, err %v", bytes.Equal(out, msg), d, err)
	}
}

// After a final block Inflate wants nothing more, while MaxDistance stops
// there, as a receiver that appends the sync marker to a final block must.
func TestAFinalBlockEndsTheStream(t *testing.T) {
	msg := bytes.Repeat([]byte("final block "), 50)
	stream := closed(t, 6, msg)
	out, d, err := Inflate(nil, stream, maxWindow)
	if err != nil || !bytes.Equal(out, msg) {
		t.Fatalf("Inflate of a closed stream: output equal %v, err %v", bytes.Equal(out, msg), err)
	}
	withTail := append(bytes.Clone(stream), 0, 0, 0xff, 0xff)
	if _, _, err := Inflate(nil, withTail, maxWindow); err == nil || !strings.Contains(err.Error(), "after the final block") {
		t.Fatalf("Inflate with data after the final block: err %v", err)
	}
	if got, err := MaxDistance(withTail); err != nil || got != d {
		t.Fatalf("MaxDistance with data after the final block = %d, %v; want %d", got, err, d)
	}
}

// An empty stream, and one that is only an empty stored block, decode to
// nothing.
func TestEmptyStreamsDecodeToNothing(t *testing.T) {
	for _, in := range [][]byte{nil, {0, 0, 0, 0xff, 0xff}} {
		out, d, err := Inflate([]byte("history"), in, maxWindow)
		if err != nil || len(out) != 0 || d != 0 {
			t.Errorf("Inflate(% x) = %q, %d, %v", in, out, d, err)
		}
		if d, err := MaxDistance(in); err != nil || d != 0 {
			t.Errorf("MaxDistance(% x) = %d, %v", in, d, err)
		}
	}
}

// Malformed streams are errors for both functions.
func TestMalformedStreamsAreErrors(t *testing.T) {
	valid := closed(t, 6, bytes.Repeat([]byte("malformed? "), 40))
	cases := []struct {
		name, want string
		in         []byte
	}{
		{"block type 3", "invalid block type", []byte{0x07}},
		{"stored LEN/NLEN mismatch", "LEN/NLEN mismatch", []byte{0x01, 0x05, 0x00, 0x00, 0x00}},
		{"stored block shorter than its LEN", "truncated", []byte{0x01, 0x05, 0x00, 0xfa, 0xff, 'a', 'b'}},
		{"stored header cut", "truncated", []byte{0x01, 0x05, 0x00}},
		{"compressed block cut", "truncated", valid[:len(valid)/2]},
	}
	for _, c := range cases {
		if _, _, err := Inflate(nil, c.in, maxWindow); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Inflate err %v, want one with %q", c.name, err, c.want)
		}
		if _, err := MaxDistance(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: MaxDistance err %v, want one with %q", c.name, err, c.want)
		}
	}
	if _, err := MaxDistance(valid[:len(valid)/2]); !errors.Is(err, errTruncated) {
		t.Errorf("a cut stream: err %v, want errTruncated", err)
	}
}

// Code lengths that over-subscribe a Huffman code are refused.
func TestOverSubscribedCodesAreRefused(t *testing.T) {
	var h huffman
	if err := h.build([]int{1, 1, 1}); err == nil {
		t.Fatal("three codes of length 1 built")
	}
	if err := h.build([]int{1, 0, 2, 2}); err != nil {
		t.Fatalf("a complete code: %v", err)
	}
	if err := h.build([]int{0, 1}); err != nil {
		t.Fatalf("an incomplete code of one symbol: %v", err)
	}
}

// A long stream of many blocks, at every level, decodes to its input and
// uses distances up to the full window.
func TestLongStreamsOfEveryLevel(t *testing.T) {
	msg := bytes.Join(corpus.Messages(11, 600), []byte("\n"))
	if len(msg) < 4*maxWindow {
		t.Fatalf("the corpus is %d bytes, too short to span the window", len(msg))
	}
	for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, 5, flate.BestCompression} {
		stream := closed(t, level, msg)
		out, d, err := Inflate(nil, stream, maxWindow)
		if err != nil || !bytes.Equal(out, msg) {
			t.Fatalf("level %d: output equal %v, err %v", level, bytes.Equal(out, msg), err)
		}
		if got, err := MaxDistance(stream); err != nil || got != d {
			t.Fatalf("level %d: MaxDistance = %d, %v; Inflate saw %d", level, got, err, d)
		}
		if level != flate.HuffmanOnly && d <= maxWindow/2 {
			t.Errorf("level %d: largest distance %d, the stream did not reach across the window", level, d)
		}
	}
}
