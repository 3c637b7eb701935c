package tether

import (
	"context"
	"net"

	"github.com/tetherws/tether/runtime"
)

// MessageReader reads one received message as an io.Reader while its
// frames arrive: Conn.NextReader returns one.
type MessageReader = runtime.MessageReader

// ErrConcurrentRead: NextReader was called while another NextReader call
// on the connection was waiting.
var ErrConcurrentRead = runtime.ErrConcurrentRead

// BufferedWriter writes one message as an io.WriteCloser framed on its
// buffer's boundaries: Conn.NewBufferedWriter returns one.
type BufferedWriter = runtime.BufferedWriter

// DefaultWriterBufferSize is the frame size of Conn.NewBufferedWriter
// with size 0.
const DefaultWriterBufferSize = runtime.DefaultWriterBufferSize

// NewNetConn returns a net.Conn that carries a byte stream over c as
// messages of type typ, with working deadlines, so that HTTP, SSH or yamux
// run over a WebSocket. Close closes c with 1000.
func NewNetConn(ctx context.Context, c *Conn, typ Opcode) net.Conn {
	return runtime.NewNetConn(ctx, c, typ)
}
