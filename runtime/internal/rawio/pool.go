package rawio

import "sync"

// ReadBufSize is the size of the pooled read buffers: large enough that a
// 16 KiB message is read in one system call.
const ReadBufSize = 32 << 10

var readPool = sync.Pool{New: func() any { b := make([]byte, ReadBufSize); return &b }}

// GetReadBuf returns a pooled read buffer of ReadBufSize bytes.
func GetReadBuf() *[]byte { return readPool.Get().(*[]byte) }

// PutReadBuf hands a buffer from GetReadBuf back to the pool.
func PutReadBuf(b *[]byte) { readPool.Put(b) }
