package tether

import "github.com/tetherws/tether/runtime"

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
