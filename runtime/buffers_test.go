package runtime

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/tetherws/tether/ws"
)

// stamped returns message i of a test stream: its index, then filler up
// to a size that varies from a few bytes to past carveMax, so that some
// messages are carved from shared blocks and others get their own buffer.
func stamped(i int) []byte {
	sizes := []int{8, 100, 700, 3000, carveMax, carveMax + 1, 9000, 40}
	n := sizes[i%len(sizes)]
	b := fmt.Appendf(nil, "%06d:", i)
	for len(b) < n {
		b = append(b, byte('a'+(i+len(b))%26))
	}
	return b[:max(n, 7)]
}

// TestRetainedMessagesAreNeverOverwritten runs two connections side by
// side: one application keeps every message it receives without
// releasing it, the other releases each at once, which makes the shared
// blocks turn over many times. Every kept message must still hold what
// was sent, whether it was carved from a block, had a buffer of its own or
// was assembled from fragments.
func TestRetainedMessagesAreNeverOverwritten(t *testing.T) {
	const n = 3000 // about 50 blocks' worth
	keep, pk := dialRaw(t, nil)
	churn, pc := dialRaw(t, nil)
	var wg sync.WaitGroup
	for _, p := range []*rawPeer{pk, pc} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []byte
			for i := range n {
				m := stamped(i)
				if i%5 == 4 { // fragmented
					batch = appendFrame(batch, false, ws.OpBinary, m[:len(m)/2], false)
					batch = appendFrame(batch, true, ws.OpContinuation, m[len(m)/2:], false)
				} else {
					batch = appendFrame(batch, true, ws.OpBinary, m, false)
				}
				if len(batch) > 32<<10 || i == n-1 {
					if _, err := p.nc.Write(batch); err != nil {
						t.Errorf("peer write: %v", err)
						return
					}
					batch = batch[:0]
				}
			}
		}()
	}
	kept := make([][]byte, 0, n)
	churned := 0
	for len(kept) < n || churned < n {
		select {
		case m := <-keep.Messages():
			kept = append(kept, m.Data)
		case m := <-churn.Messages():
			if want := stamped(churned); !bytes.Equal(m.Data, want) {
				t.Fatalf("released stream: message %d is %.20q, want %.20q", churned, m.Data, want)
			}
			churned++
			m.Release()
		case <-keep.Done():
			t.Fatalf("keeping connection ended: %v", keep.Err())
		case <-churn.Done():
			t.Fatalf("releasing connection ended: %v", churn.Err())
		}
	}
	wg.Wait()
	for i, d := range kept {
		if want := stamped(i); !bytes.Equal(d, want) {
			t.Fatalf("kept message %d was overwritten: %.20q, want %.20q", i, d, want)
		}
	}
}

// TestAppendingToMessageDataLeavesTheNextAlone: small messages share a
// block, so each Data ends at its capacity: an append by the application
// reallocates instead of writing over the message after it.
func TestAppendingToMessageDataLeavesTheNextAlone(t *testing.T) {
	c, p := dialRaw(t, nil)
	p.write(append(appendFrame(nil, true, ws.OpText, []byte("first"), false),
		appendFrame(nil, true, ws.OpText, []byte("second"), false)...))
	a, b := recv(t, c), recv(t, c)
	if cap(a.Data) != len(a.Data) {
		t.Fatalf("cap(Data) = %d, len %d: an append could write past the message", cap(a.Data), len(a.Data))
	}
	grown := append(a.Data, "XXXXXXXX"...)
	if string(b.Data) != "second" || string(a.Data) != "first" || string(grown) != "firstXXXXXXXX" {
		t.Fatalf("after append: first %q, second %q, grown %q", a.Data, b.Data, grown)
	}
}

// TestABlockIsReusedOnlyWhenFullAndReleased: a shared block is emptied
// for reuse only after carving from it stopped and every message cut from
// it was released; one message still held keeps it as it is.
func TestABlockIsReusedOnlyWhenFullAndReleased(t *testing.T) {
	blk := &block{b: make([]byte, 0, blockSize), shared: true}
	blk.refs.Store(blockOpen)
	var held []Message
	for i := range 3 {
		held = append(held, Message{Data: cutInto(blk, stamped(i)), blk: blk})
	}
	for _, m := range held {
		m.Release()
	}
	if blk.refs.Load() != blockOpen || len(blk.b) == 0 {
		t.Fatalf("all released while still carved from: refs %d, len %d; want it kept as it is", blk.refs.Load(), len(blk.b))
	}
	keep := Message{Data: cutInto(blk, stamped(7)), blk: blk}
	other := Message{Data: cutInto(blk, stamped(8)), blk: blk}
	blk.unref(blockOpen) // full: carving stops
	other.Release()
	if blk.refs.Load() != 1 || !bytes.Equal(keep.Data, stamped(7)) {
		t.Fatalf("one message held: refs %d, data intact %v", blk.refs.Load(), bytes.Equal(keep.Data, stamped(7)))
	}
	keep.Release()
	if blk.refs.Load() != 0 || len(blk.b) != 0 {
		t.Fatalf("after the last release: refs %d, len %d; want an empty block", blk.refs.Load(), len(blk.b))
	}
}

// cutInto copies p into blk as carve does, without the pool.
func cutInto(blk *block, p []byte) []byte {
	off := len(blk.b)
	blk.b = append(blk.b, p...)
	end := len(blk.b)
	blk.refs.Add(1)
	return blk.b[off:end:end]
}
