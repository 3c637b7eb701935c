package hubtest

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

// WaitLimit bounds every wait of this package.
const WaitLimit = 10 * time.Second

// Instance is one server instance. Its handler subscribes each connection
// to the topics of its URL (?topics=a,b), says "subscribed", hands the
// server side of the connection to the test on Conns, then reads until the
// connection ends.
type Instance struct {
	URL   string
	Conns chan *runtime.Conn
}

// Start serves an instance that subscribes with subscribe (e.g. a Hub's
// Subscribe method). so, if set, configures the server's connections;
// wrap, if set, wraps the listener. The server is shut down when the test
// ends; cleanups registered before Start run after that.
func Start(t testing.TB, subscribe func(*runtime.Conn, string) error, so *runtime.ServerOptions, wrap func(net.Listener) net.Listener) *Instance {
	t.Helper()
	in := &Instance{Conns: make(chan *runtime.Conn, 16)}
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		for _, name := range strings.Split(c.Request().URL.Query().Get("topics"), ",") {
			if err := subscribe(c, name); err != nil {
				return err
			}
		}
		in.Conns <- c
		if err := c.SendText(ctx, "subscribed"); err != nil {
			return err
		}
		for m := range c.Messages() {
			m.Release()
		}
		return nil
	}}
	if so != nil {
		srv.Options = *so
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	in.URL = "ws://" + ln.Addr().String() + "/"
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, runtime.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return in
}

// Join dials in with the topics, waits until they are subscribed and
// returns the client and the server side of the connection.
func (in *Instance) Join(t testing.TB, do *runtime.DialOptions, topics ...string) (client, server *runtime.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	client, _, err := runtime.Dial(ctx, in.URL+"?topics="+url.QueryEscape(strings.Join(topics, ",")), do)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(client.CloseNow)
	select {
	case server = <-in.Conns:
	case <-client.Done():
		t.Fatalf("connection ended before subscribing: %v", client.Err())
	case <-ctx.Done():
		t.Fatal("no server connection")
	}
	Expect(t, client, "subscribed")
	return client, server
}

// Expect receives the next message on c and checks it is the text want.
func Expect(t testing.TB, c *runtime.Conn, want string) {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("connection ended waiting for %q: %v", want, c.Err())
		}
		if got := m.Text(); got != want || m.Type != ws.OpText {
			t.Fatalf("received %q (%v), want %q", got, m.Type, want)
		}
		m.Release()
	case <-time.After(WaitLimit):
		t.Fatalf("no message within %v, want %q", WaitLimit, want)
	}
}
