package runtime

import (
	"sync"
	"sync/atomic"
)

// Received messages are copied into memory that the application may keep
// as long as it likes, so memory is reused only when the application says
// it is done (Message.Release) with everything in it. Two kinds:
//
//   - A message of at most carveMax bytes that arrived in one piece is
//     carved from a shared block of blockSize bytes: a reader carves from
//     its own while its connection's input flows and leaves it in a
//     sync.Pool for the others when the input stops, so carving costs a
//     copy, and one block is allocated per blockSize bytes received when
//     the application never releases. A block is reused
//     only once it is full and every message carved from it was released.
//   - Larger or fragmented messages get a buffer of their own, which
//     Release hands to the next such message.
//
// A message's Data is cut with its capacity at its end, so that an append
// by the application reallocates instead of writing into the next message.
const (
	blockSize = 64 << 10
	carveMax  = 16 << 10
	// blockOpen is added to a block's count while messages are carved
	// from it.
	blockOpen = 1 << 40
	// maxPooled is the largest buffer of its own kept for reuse.
	maxPooled = 1 << 20
)

// block is memory that received messages live in.
type block struct {
	b      []byte
	refs   atomic.Int64 // messages not released, plus blockOpen while carved
	shared bool         // carved from (else one message's own buffer)
}

var (
	openBlocks sync.Pool // *block being carved
	freeBlocks sync.Pool // empty shared *block
	ownBlocks  = sync.Pool{New: func() any { return new(block) }}
)

// carve copies p into a shared block and returns the copy and its block,
// which holds one reference for the copy.
func (r *reader) carve(p []byte) ([]byte, *block) {
	blk := r.openBlock(len(p))
	off := len(blk.b)
	blk.b = append(blk.b, p...)
	return blk.cut(off), blk
}

// reserve sets aside n bytes in a shared block for a small message whose
// pieces are still to come: it returns an empty slice of capacity n, which
// the pieces are appended to in place, and its block, which holds one
// reference for it.
func (r *reader) reserve(n int) ([]byte, *block) {
	blk := r.openBlock(n)
	off := len(blk.b)
	blk.b = blk.b[:off+n]
	return blk.cut(off)[:0], blk
}

// openBlock returns the reader's shared block, with room for n more
// bytes: the one it carves from while traffic flows, else one another
// reader left, else a released or a fresh one.
func (r *reader) openBlock(n int) *block {
	blk := r.open
	if blk == nil {
		blk, _ = openBlocks.Get().(*block)
	}
	if blk != nil && n <= cap(blk.b)-len(blk.b) {
		r.open = blk
		return blk
	}
	if blk != nil {
		blk.unref(blockOpen) // full: no more carving from it
	}
	blk, _ = freeBlocks.Get().(*block)
	if blk == nil {
		blk = &block{b: make([]byte, 0, blockSize), shared: true}
	}
	blk.refs.Store(blockOpen)
	r.open = blk
	return blk
}

// idle hands the reader's shared block to the other readers when its
// connection has no more input for now, so that an idle connection holds
// none.
func (r *reader) idle() {
	if r.open != nil {
		openBlocks.Put(r.open)
		r.open = nil
	}
}

// cut returns the block's bytes from off to its length, with the capacity
// at their end, and counts one more reference.
func (blk *block) cut(off int) []byte {
	end := len(blk.b)
	blk.refs.Add(1)
	return blk.b[off:end:end]
}

// ownBlock returns an empty buffer of its own for one message, holding
// one reference.
func ownBlock() *block {
	blk := ownBlocks.Get().(*block)
	blk.b = blk.b[:0]
	blk.refs.Store(1)
	return blk
}

// copyMessage copies p, a received message or piece, into memory the
// application may keep.
func (r *reader) copyMessage(p []byte) ([]byte, *block) {
	if len(p) <= carveMax {
		return r.carve(p)
	}
	blk := ownBlock()
	blk.b = append(blk.b, p...)
	return blk.b, blk
}

// release drops the reference of one message.
func (blk *block) release() { blk.unref(1) }

// unref drops n from the count and reuses the block once nothing refers
// to it: exactly one caller sees the count reach zero.
func (blk *block) unref(n int64) {
	if blk.refs.Add(-n) != 0 {
		return
	}
	blk.b = blk.b[:0]
	switch {
	case blk.shared:
		freeBlocks.Put(blk)
	case cap(blk.b) <= maxPooled:
		ownBlocks.Put(blk)
	}
}

// Frames to send are built in pooled buffers, handed back once written.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// getBuf returns an empty pooled buffer.
func getBuf() *[]byte {
	b := bufPool.Get().(*[]byte)
	*b = (*b)[:0]
	return b
}

func putBuf(b *[]byte) {
	if cap(*b) > maxPooled {
		return
	}
	bufPool.Put(b)
}
