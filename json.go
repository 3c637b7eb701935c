package tether

import (
	"context"

	"github.com/tetherws/tether/runtime"
)

// JSON sends and receives values of type T as JSON messages on a
// connection, with encoding/json or a JSONCodec of your own: Send,
// Receive, and All to range over the messages decoded.
type JSON[T any] = runtime.JSON[T]

// JSONCodec encodes and decodes the JSON of messages; implement it to
// plug in a faster library.
type JSONCodec = runtime.JSONCodec

// DecodeError is a received message that is not JSON for the type asked
// for; the connection goes on.
type DecodeError = runtime.DecodeError

// StdJSON is encoding/json as a JSONCodec, the default.
var StdJSON = runtime.StdJSON

// SendJSON encodes v with encoding/json and sends it as one text message.
func SendJSON(ctx context.Context, c *Conn, v any) error { return runtime.SendJSON(ctx, c, v) }

// ReceiveJSON takes the next message and decodes it into a T with
// encoding/json. It returns io.EOF once the connection has no more
// messages, and a *DecodeError for a message that is not JSON for T.
func ReceiveJSON[T any](ctx context.Context, c *Conn) (T, error) {
	return runtime.ReceiveJSON[T](ctx, c)
}
