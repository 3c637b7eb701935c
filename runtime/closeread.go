package runtime

// CloseRead makes the connection send-only, for an application that will
// never read Messages: from now on the reader drops every data message it
// receives, without copying it, and releases those waiting in Messages,
// while it goes on answering pings, taking pongs (keepalive keeps working
// both ways) and running the closing handshake. Nothing more is delivered
// on Messages, which is closed when the connection ends, as before; Done,
// Context and Err say when and how. Dropped messages are not reported by
// Err (ErrUndelivered). CloseRead cannot be undone; calling it again does
// nothing.
//
// Without it, an application that does not read stalls the reader once
// Messages is full, and the peer's pings go unanswered (see Messages).
func (c *Conn) CloseRead() {
	if c.readClosed.Swap(true) {
		return
	}
	c.drainMessages()
}

// drainMessages releases the messages waiting in Messages, for CloseRead.
// The reader calls it too when CloseRead came while it waited to deliver
// one.
func (c *Conn) drainMessages() {
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				return
			}
			m.Release()
		default:
			return
		}
	}
}

// discard drops a piece of a data message received after CloseRead,
// along with the message being assembled, if any.
func (r *reader) discard() {
	r.in = false
	r.releaseMessage()
}
