package runtime

import (
	"errors"
	"testing"

	"github.com/tetherws/tether/ws"
)

// NewMessageWriter on a connection that is closing or closed fails at once,
// like Send, rather than handing out a writer whose first Write fails.
func TestNewMessageWriterOnAClosedConnectionFails(t *testing.T) {
	client, server := pair(t, nil, nil)
	if err := client.Close(ws.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	waitDone(t, server)
	for name, c := range map[string]*Conn{"closer": client, "peer": server} {
		w, err := c.NewMessageWriter(testCtx(t), ws.OpBinary, SendOptions{})
		if w != nil || !errors.Is(err, ws.ErrClosed) {
			t.Errorf("%s: NewMessageWriter = %v, %v; want nil and ws.ErrClosed", name, w, err)
		}
		// The send slot was given back: other sends report the close too
		// instead of waiting.
		if err := c.SendText(testCtx(t), "late"); !errors.Is(err, ws.ErrClosed) {
			t.Errorf("%s: Send after = %v", name, err)
		}
	}
}

// A send with the connection's own Context, after the connection ended,
// reports the close (ws.ErrClosed), not context.Canceled: a handler that
// returns that error is not logged as failed.
func TestSendWithTheConnectionsContextAfterTheEndMatchesErrClosed(t *testing.T) {
	client, server := pair(t, nil, nil)
	client.CloseNow()
	waitDone(t, server)
	for name, c := range map[string]*Conn{"closer": client, "peer": server} {
		ctx := c.Context()
		if err := c.SendText(ctx, "late"); !errors.Is(err, ws.ErrClosed) {
			t.Errorf("%s: SendText = %v, want ws.ErrClosed", name, err)
		}
		if _, err := c.NewMessageWriter(ctx, ws.OpText, SendOptions{}); !errors.Is(err, ws.ErrClosed) {
			t.Errorf("%s: NewMessageWriter = %v, want ws.ErrClosed", name, err)
		}
	}
}
