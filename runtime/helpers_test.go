package runtime

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tetherws/tether/ws"
)

// startServer serves h on a loopback listener and returns its ws:// URL.
// The server is shut down when the test ends.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return "ws://" + ln.Addr().String() + "/"
}

// echoHandler sends back every message it receives.
func echoHandler(ctx context.Context, c *Conn) error {
	for m := range c.Messages() {
		if err := c.Send(ctx, m.Type, m.Data); err != nil {
			return err
		}
		m.Release()
	}
	return nil
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string, o *DialOptions) *Conn {
	t.Helper()
	c, _, err := Dial(testCtx(t), url, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func recv(t *testing.T, c *Conn) Message {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("connection ended: %v", c.Err())
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
	return Message{}
}

var _ = ws.OpText
