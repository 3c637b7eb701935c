package runtime

import (
	"sync"

	"github.com/tetherws/tether/ws"
)

// Message is a received message. In streaming mode (Options.Streaming) it
// is one piece of a message: First marks the first piece and Fin the last;
// otherwise both are true and Data holds the whole message.
type Message struct {
	Data  []byte
	Type  ws.Opcode // ws.OpText or ws.OpBinary
	First bool
	Fin   bool

	// valid: Data is a whole text message the protocol validated as
	// UTF-8 on receipt, so SendMessage need not validate it again.
	valid bool
	buf   *[]byte
}

// The fields are ordered so that a Message is 40 bytes: the Messages
// channel holds MaxQueue of them per connection.

// Text returns the data as a string. Text messages are valid UTF-8.
func (m Message) Text() string { return string(m.Data) }

// IsText reports whether the message is a text message.
func (m Message) IsText() bool { return m.Type == ws.OpText }

// Release hands the message's buffer back for reuse by later messages. It
// is optional: without it the garbage collector reclaims the buffer. After
// Release, Data must not be used, and Release must not be called again on
// this message or a copy of it.
func (m Message) Release() {
	if m.buf != nil {
		putBuf(m.buf)
	}
}

// maxPooled is the largest buffer kept in the pool.
const maxPooled = 1 << 20

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
