package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tetherws/tether/ws"
)

// pattern fills b with the bytes of a 64 MiB-periodic pattern starting at
// offset off, so that the receiver can check every byte without keeping
// the message.
func pattern(b []byte, off int64) {
	for i := range b {
		x := off + int64(i)
		b[i] = byte(x ^ x>>8 ^ x>>16)
	}
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// A 64 MiB message streams through NextReader while the live heap stays
// within 2 MiB of what it was before: the message is never assembled.
// The heap is measured after a forced collection every 4 MiB read, so
// garbage does not count; a message assembled in memory would show as
// tens of MiB.
func TestNextReaderStreamsA64MiBMessageInBoundedHeap(t *testing.T) {
	const size = 64 << 20
	for _, tt := range []struct {
		name  string
		frame int64 // bytes per frame
	}{{"one frame", size}, {"1 MiB frames", 1 << 20}} {
		t.Run(tt.name, func(t *testing.T) {
			c, p := dialRaw(t, &DialOptions{Options: Options{MaxMessageSize: -1}})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			base := liveHeap()

			type result struct {
				mr  *MessageReader
				err error
			}
			got := make(chan result, 1)
			go func() { mr, err := c.NextReader(ctx); got <- result{mr, err} }()
			eventually(t, "NextReader waits", func() bool { return c.want.Load() != nil })

			sent := make(chan error, 1)
			go func() {
				buf := make([]byte, 64<<10)
				var off int64
				var hdr [14]byte
				for off < size {
					n := min(tt.frame, size-off)
					op := ws.OpBinary
					if off > 0 {
						op = ws.OpContinuation
					}
					h := ws.AppendHeader(hdr[:0], ws.Header{Fin: off+n == size, Opcode: op, Length: n})
					if _, err := p.nc.Write(h); err != nil {
						sent <- err
						return
					}
					for end := off + n; off < end; {
						k := min(int64(len(buf)), end-off)
						pattern(buf[:k], off)
						if _, err := p.nc.Write(buf[:k]); err != nil {
							sent <- err
							return
						}
						off += k
					}
				}
				sent <- nil
			}()

			res := <-got
			if res.err != nil {
				t.Fatal(res.err)
			}
			mr := res.mr
			if mr.Type() != ws.OpBinary {
				t.Errorf("type %v", mr.Type())
			}
			buf := make([]byte, 32<<10)
			want := make([]byte, len(buf))
			var off int64
			var peak uint64
			next := int64(0)
			for {
				n, err := mr.Read(buf)
				pattern(want[:n], off)
				if !bytes.Equal(buf[:n], want[:n]) {
					t.Fatalf("data differs at offset %d", off)
				}
				off += int64(n)
				if off >= next {
					if h := liveHeap(); h > base && h-base > peak {
						peak = h - base
					}
					next += 4 << 20
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Read at %d: %v", off, err)
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if off != size {
				t.Fatalf("read %d bytes, want %d", off, size)
			}
			t.Logf("peak live heap above the start: %d KiB", peak>>10)
			if peak >= 2<<20 {
				t.Errorf("peak live heap grew by %d KiB, want under 2 MiB", peak>>10)
			}
		})
	}
}

// A message partly assembled for Messages when NextReader is called is
// handed over: what came first, then the rest as it arrives.
func TestNextReaderTakesOverAMessageInProgress(t *testing.T) {
	c, p := dialRaw(t, &DialOptions{Options: Options{MaxMessageSize: -1}})
	first := bytes.Repeat([]byte("a"), 100<<10)
	rest := bytes.Repeat([]byte("b"), 300<<10)
	p.send(false, ws.OpBinary, first)
	p.send(true, ws.OpPing, []byte("sync"))
	p.expect(ws.OpPong) // the reader has taken the first fragment in
	got := make(chan []byte, 1)
	go func() {
		mr, err := c.NextReader(testCtx(t))
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		b, err := io.ReadAll(mr)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	eventually(t, "NextReader waits", func() bool { return c.want.Load() != nil })
	p.send(true, ws.OpContinuation, rest)
	if b := <-got; !bytes.Equal(b, append(first, rest...)) {
		t.Fatalf("got %d bytes, want %d", len(b), len(first)+len(rest))
	}
}

// numberedMessage is message i of a numbered stream: its number, then filler.
func numberedMessage(i int, rng *rand.Rand) []byte {
	b := make([]byte, 8+rng.IntN(3)*rng.IntN(3)*rng.IntN(20<<10))
	binary.BigEndian.PutUint64(b, uint64(i))
	for j := 8; j < len(b); j++ {
		b[j] = byte(i + j)
	}
	return b
}

// Taking messages from Messages and NextReader in any interleaving, with
// the peer sending whole and fragmented messages as fast as it can, loses
// none and reorders none.
func TestNextReaderAndMessagesShareOneOrderedStream(t *testing.T) {
	const n = 3000
	c, p := dialRaw(t, &DialOptions{Options: Options{MaxMessageSize: -1, MaxQueue: 2}})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		rng := rand.New(rand.NewPCG(1, 2))
		var out []byte
		for i := range n {
			m := numberedMessage(i, rng)
			if k := rng.IntN(4); k == 0 && len(m) > 16 {
				cut := len(m) / 2
				out = appendFrame(out, false, ws.OpBinary, m[:cut], false)
				out = appendFrame(out, true, ws.OpContinuation, m[cut:], false)
			} else {
				out = appendFrame(out, true, ws.OpBinary, m, false)
			}
			if len(out) > 16<<10 || i == n-1 {
				if _, err := p.nc.Write(out); err != nil {
					t.Error(err)
					return
				}
				out = out[:0]
			}
		}
	}()
	ctx := testCtx(t)
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(i int, b []byte) {
		if len(b) < 8 || binary.BigEndian.Uint64(b) != uint64(i) {
			t.Fatalf("message %d: got %q…", i, b[:min(len(b), 8)])
		}
	}
	for i := range n {
		switch rng.IntN(3) {
		case 0:
			check(i, recv(t, c).Data)
		case 1:
			mr, err := c.NextReader(ctx)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			b, err := io.ReadAll(mr)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			check(i, b)
		case 2:
			mr, err := c.NextReader(ctx)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			var hdr [8]byte
			if _, err := io.ReadFull(mr, hdr[:]); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			check(i, hdr[:])
			mr.Close() // skips the rest
		}
	}
	<-sent
}

// Each Read of a text message ends on a whole UTF-8 sequence when p has
// room for one, though frames and pieces cut characters anywhere.
func TestMessageReaderTextReadsEndOnWholeSequences(t *testing.T) {
	text := strings.Repeat("a€𝄞é", 30000) // 1-, 3-, 4- and 2-byte sequences
	for _, streaming := range []bool{false, true} {
		t.Run(fmt.Sprintf("Streaming=%v", streaming), func(t *testing.T) {
			c, p := dialRaw(t, &DialOptions{Options: Options{MaxMessageSize: -1, Streaming: streaming}})
			ctx := testCtx(t)
			// Frames cut at odd offsets, inside characters.
			var out []byte
			op := ws.OpText
			for off := 0; off < len(text); {
				n := min(7919, len(text)-off)
				out = appendFrame(out, off+n == len(text), op, []byte(text[off:off+n]), false)
				op = ws.OpContinuation
				off += n
			}
			for _, size := range []int{4, 5, 7, 64 << 10} {
				p.write(out)
				mr, err := c.NextReader(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var all []byte
				buf := make([]byte, size)
				for {
					n, err := mr.Read(buf)
					if !utf8.Valid(buf[:n]) {
						t.Fatalf("p of %d: a Read of %d bytes ends inside a sequence: % x", size, n, buf[max(0, n-4):n])
					}
					all = append(all, buf[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				if string(all) != text {
					t.Fatalf("p of %d: text differs (%d bytes, want %d)", size, len(all), len(text))
				}
			}
		})
	}
}

// A NextReader whose ctx ends takes no message: the next one still
// arrives, on Messages.
func TestNextReaderCancelledTakesNothing(t *testing.T) {
	c, p := dialRaw(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.NextReader(ctx); done <- err }()
	eventually(t, "NextReader waits", func() bool { return c.want.Load() != nil })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("NextReader: %v, want context.Canceled", err)
	}
	p.send(true, ws.OpText, []byte("after"))
	if m := recv(t, c); m.Text() != "after" {
		t.Fatalf("got %q", m.Data)
	}
}

// Two NextReader calls at once: the second is refused.
func TestNextReaderRefusesAConcurrentCall(t *testing.T) {
	c, p := dialRaw(t, nil)
	ctx := testCtx(t)
	got := make(chan string, 1)
	go func() {
		mr, err := c.NextReader(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(mr)
		got <- string(b)
	}()
	eventually(t, "NextReader waits", func() bool { return c.want.Load() != nil })
	if _, err := c.NextReader(ctx); !errors.Is(err, ErrConcurrentRead) {
		t.Fatalf("second NextReader: %v, want ErrConcurrentRead", err)
	}
	p.send(true, ws.OpText, []byte("one"))
	if s := <-got; s != "one" {
		t.Fatalf("first NextReader got %q", s)
	}
}

// NextReader returns io.EOF once the peer has closed; a message cut by the
// end of the connection reads as io.ErrUnexpectedEOF.
func TestNextReaderEndOfConnection(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		c, p := dialRaw(t, nil)
		p.send(true, ws.OpText, []byte("last"))
		p.send(true, ws.OpClose, closePayload(ws.CloseNormal, ""))
		mr, err := c.NextReader(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(mr); err != nil || string(b) != "last" {
			t.Fatalf("got %q, %v", b, err)
		}
		if _, err := c.NextReader(testCtx(t)); err != io.EOF {
			t.Fatalf("NextReader after the close: %v, want io.EOF", err)
		}
		p.close()
	})
	t.Run("cut", func(t *testing.T) {
		c, p := dialRaw(t, &DialOptions{Options: Options{MaxMessageSize: -1}})
		got := make(chan error, 1)
		go func() {
			mr, err := c.NextReader(testCtx(t))
			if err == nil {
				_, err = io.ReadAll(mr)
			}
			got <- err
		}()
		eventually(t, "NextReader waits", func() bool { return c.want.Load() != nil })
		p.send(false, ws.OpBinary, make([]byte, 1000))
		p.close()
		if err := <-got; !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("reading a cut message: %v, want io.ErrUnexpectedEOF", err)
		}
	})
}

// Calling NextReader again before the previous message was read to its
// end skips the rest of it; the previous reader then fails.
func TestNextReaderSkipsTheUnreadRestOfThePrevious(t *testing.T) {
	c, p := dialRaw(t, &DialOptions{Options: Options{MaxMessageSize: -1}})
	ctx := testCtx(t)
	go func() {
		mr, err := c.NextReader(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		var b [10]byte
		if _, err := io.ReadFull(mr, b[:]); err != nil {
			t.Error(err)
		}
		mr2, err := c.NextReader(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		if b, err := io.ReadAll(mr2); err != nil || string(b) != "second" {
			t.Errorf("second message: %q, %v", b, err)
		}
		if _, err := io.ReadAll(mr); err == nil {
			t.Error("the first reader reads on after NextReader moved on")
		}
		p.close()
	}()
	eventually(t, "NextReader waits", func() bool { return c.want.Load() != nil })
	op := ws.OpBinary
	for range 20 {
		p.send(false, op, make([]byte, 64<<10))
		op = ws.OpContinuation
	}
	p.send(true, ws.OpContinuation, nil)
	p.send(true, ws.OpText, []byte("second"))
	<-c.Done()
}
