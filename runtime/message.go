package runtime

import "github.com/tetherws/tether/ws"

// Message is a received message. In streaming mode (Options.Streaming) it
// is one piece of a message: First marks the first piece and Fin the last;
// otherwise both are true and Data holds the whole message.
//
// Data is the application's to keep: tether never writes to it again
// unless the message is Released. Small messages share larger blocks of
// memory (so receiving them allocates nothing per message, Release or
// not): a program that keeps a few small messages for long, and drops the
// ones received around them, can copy them (bytes.Clone) to let the
// blocks go.
type Message struct {
	Data  []byte
	Type  ws.Opcode // ws.OpText or ws.OpBinary
	First bool
	Fin   bool

	// valid: Data is a whole text message the protocol validated as
	// UTF-8 on receipt, so SendMessage need not validate it again.
	valid bool
	blk   *block // the memory Data is in, or nil
}

// The fields are ordered so that a Message is 40 bytes: the Messages
// channel holds MaxQueue of them per connection.

// Text returns the data as a string. Text messages are valid UTF-8.
func (m Message) Text() string { return string(m.Data) }

// IsText reports whether the message is a text message.
func (m Message) IsText() bool { return m.Type == ws.OpText }

// Release hands the message's memory back for reuse by later messages. It
// is optional: without it the garbage collector reclaims the memory once
// nothing refers to it. After Release, Data must not be used, and Release
// must not be called again on this message or a copy of it.
func (m Message) Release() {
	if m.blk != nil {
		m.blk.release()
	}
}
