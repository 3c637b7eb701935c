package runtime

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tetherws/tether/ws"
)

func TestEchoTextAndBinaryOverTCP(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler})
	c := dial(t, url, nil)
	ctx := testCtx(t)
	if err := c.SendText(ctx, "héllo"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Type != ws.OpText || m.Text() != "héllo" {
		t.Fatalf("got %v %q", m.Type, m.Data)
	}
	big := bytes.Repeat([]byte{1, 2, 3}, 100000)
	if err := c.SendBinary(ctx, big); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, c); m.Type != ws.OpBinary || !bytes.Equal(m.Data, big) {
		t.Fatalf("binary echo mismatch: %d bytes", len(m.Data))
	}
	if err := c.Close(ws.CloseNormal, "done"); err != nil {
		t.Fatal(err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("Err after clean close = %v", err)
	}
	st := c.CloseStatus()
	if st.Error() != "sent 1000 (OK) done; then received 1000 (OK) done" {
		t.Fatalf("close status = %q", st)
	}
}

func TestServerHandlerReturnClosesWith1000(t *testing.T) {
	url := startServer(t, &Server{Handler: func(ctx context.Context, c *Conn) error {
		return c.SendText(ctx, "bye")
	}})
	c := dial(t, url, nil)
	if m := recv(t, c); m.Text() != "bye" {
		t.Fatalf("got %q", m.Data)
	}
	<-c.Done()
	if err := c.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	if st := c.CloseStatus(); st.Error() != "received 1000 (OK); then sent 1000 (OK)" {
		t.Fatalf("close status = %q", st)
	}
}

func TestServerHandlerErrorClosesWith1011(t *testing.T) {
	url := startServer(t, &Server{Handler: func(ctx context.Context, c *Conn) error {
		return errors.New("boom")
	}})
	c := dial(t, url, nil)
	<-c.Done()
	var ce *ws.CloseError
	if !errors.As(c.Err(), &ce) || ce.Code() != ws.CloseInternalError {
		t.Fatalf("Err = %v", c.Err())
	}
}

func TestDialRejectedOrigin(t *testing.T) {
	url := startServer(t, &Server{Handler: echoHandler, Options: ServerOptions{
		Handshake: ws.ServerHandshake{Origins: []string{"https://good.example"}},
	}})
	_, resp, err := Dial(testCtx(t), url, &DialOptions{Origin: "https://evil.example"})
	var se *ws.StatusError
	if !errors.As(err, &se) || se.StatusCode() != 403 || resp.StatusCode != 403 {
		t.Fatalf("err = %v", err)
	}
	if !bytes.Contains(se.Body, []byte("invalid Origin header")) {
		t.Fatalf("body = %q", se.Body)
	}
}
