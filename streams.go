package tether

import "github.com/tetherws/tether/runtime"

// MessageReader reads one received message as an io.Reader while its
// frames arrive: Conn.NextReader returns one.
type MessageReader = runtime.MessageReader

// ErrConcurrentRead: NextReader was called while another NextReader call
// on the connection was waiting.
var ErrConcurrentRead = runtime.ErrConcurrentRead
