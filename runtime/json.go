package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"

	"github.com/tetherws/tether/ws"
)

// JSONCodec encodes and decodes the JSON of messages. StdJSON, on
// encoding/json, is the default; a faster library plugs in by
// implementing these two methods, without tether depending on it.
// Unmarshal must not keep data after it returns: the message's buffer is
// reused.
type JSONCodec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// StdJSON is encoding/json as a JSONCodec. Its output is valid UTF-8
// (encoding/json replaces invalid bytes in strings), so messages it
// encodes are not validated again.
var StdJSON JSONCodec = stdJSON{}

type stdJSON struct{}

func (stdJSON) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (stdJSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// DecodeError is a received message that is not JSON for the type asked
// for. Receiving goes on with the next message: the connection is not
// failed.
type DecodeError struct {
	Data []byte    // the message
	Type ws.Opcode // its type
	Err  error     // the codec's error

	into string // the type asked for
}

// Error says how long the message was, the type asked for and why it did
// not decode.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("tether: a %d-byte message is not JSON for %s: %v", len(e.Data), e.into, e.Err)
}

// Unwrap returns the codec's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// JSON sends and receives values of type T as JSON messages on Conn,
// encoded with Codec (StdJSON when nil). Sent messages are text; received
// ones may be text or binary. The zero Codec and a Conn are all it needs:
//
//	events := tether.JSON[Event]{Conn: conn}
//	err := events.Send(ctx, Event{Kind: "join"})
//	ev, err := events.Receive(ctx)
type JSON[T any] struct {
	Conn  *Conn
	Codec JSONCodec
}

func (j JSON[T]) codec() JSONCodec {
	if j.Codec == nil {
		return StdJSON
	}
	return j.Codec
}

// Send encodes v and sends it as one text message, like Conn.SendText.
// An encoding error sends nothing.
func (j JSON[T]) Send(ctx context.Context, v T) error {
	codec := j.codec()
	b, err := codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("tether: encoding JSON: %w", err)
	}
	if codec == StdJSON {
		return j.Conn.sendWhole(ctx, ws.OpText, b, ws.SendValidUTF8)
	}
	return j.Conn.SendWith(ctx, ws.OpText, b, SendOptions{})
}

// Receive takes the next message (as a receive from Messages would) and
// decodes it. It returns io.EOF once the connection has no more messages
// (Err says how it ended), ctx's error if ctx ends first (no message is
// taken), and a *DecodeError for a message that is not JSON for T, after
// which the next Receive goes on with the next message.
func (j JSON[T]) Receive(ctx context.Context) (T, error) {
	var v T
	c := j.Conn
	if c.opts.Streaming {
		return j.receivePieces(ctx)
	}
	if err := ctx.Err(); err != nil {
		return v, err
	}
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return v, io.EOF
		}
		return j.decode(m)
	case <-ctx.Done():
		return v, ctx.Err()
	}
}

// receivePieces is Receive with Options.Streaming, where Messages holds
// pieces: it reads one message whole.
func (j JSON[T]) receivePieces(ctx context.Context) (T, error) {
	var v T
	r, err := j.Conn.NextReader(ctx)
	if err != nil {
		return v, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return v, err
	}
	return j.decode(Message{Type: r.Type(), Data: b, First: true, Fin: true})
}

// decode decodes m, releasing its buffer unless it is kept in the error.
func (j JSON[T]) decode(m Message) (T, error) {
	var v T
	if err := j.codec().Unmarshal(m.Data, &v); err != nil {
		var zero T
		return zero, &DecodeError{Data: m.Data, Type: m.Type, Err: err, into: fmt.Sprintf("%T", zero)}
	}
	m.Release()
	return v, nil
}

// All ranges over the messages received, decoded, until the connection
// has no more (Messages is closed). A message that is not JSON for T
// yields a *DecodeError and the loop goes on; breaking out of the loop
// leaves the next messages on Messages.
func (j JSON[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := j.Receive(context.Background())
			if err == io.EOF {
				return
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// SendJSON encodes v with encoding/json and sends it as one text message.
func SendJSON(ctx context.Context, c *Conn, v any) error {
	return JSON[any]{Conn: c}.Send(ctx, v)
}

// ReceiveJSON takes the next message and decodes it into a T with
// encoding/json: see JSON.Receive.
func ReceiveJSON[T any](ctx context.Context, c *Conn) (T, error) {
	return JSON[T]{Conn: c}.Receive(ctx)
}
