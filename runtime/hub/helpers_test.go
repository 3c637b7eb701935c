package hub

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tetherws/tether/runtime"
	"github.com/tetherws/tether/ws"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitLimit = 5 * time.Second

// instance is one "server instance": a tether Server whose handler
// subscribes each connection to the topics of its URL (?topics=a,b) on
// Hub, says "subscribed", hands the server-side connection to the test on
// conns, then reads until the connection ends.
type instance struct {
	Hub   *Hub
	URL   string
	conns chan *runtime.Conn
}

// startInstance serves a Hub with o on 127.0.0.1:0. so, if set, configure
// the server's connections; wrap, if set, wraps the listener. The Hub is
// closed and the server shut down when the test ends.
func startInstance(t *testing.T, o Options, so *runtime.ServerOptions, wrap func(net.Listener) net.Listener) *instance {
	t.Helper()
	h := New(o)
	in := &instance{Hub: h, conns: make(chan *runtime.Conn, 16)}
	srv := &runtime.Server{Handler: func(ctx context.Context, c *runtime.Conn) error {
		for _, name := range strings.Split(c.Request().URL.Query().Get("topics"), ",") {
			if err := h.Subscribe(c, name); err != nil {
				return err
			}
		}
		in.conns <- c
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
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, runtime.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("Hub.Close: %v", err)
		}
	})
	return in
}

// join dials in with the topics, waits until they are subscribed and
// returns the client and the server side of the connection.
func (in *instance) join(t *testing.T, do *runtime.DialOptions, topics ...string) (client, server *runtime.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	client, _, err := runtime.Dial(ctx, in.URL+"?topics="+url.QueryEscape(strings.Join(topics, ",")), do)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(client.CloseNow)
	select {
	case server = <-in.conns:
	case <-client.Done():
		t.Fatalf("connection ended before subscribing: %v", client.Err())
	case <-ctx.Done():
		t.Fatal("no server connection")
	}
	expect(t, client, "subscribed")
	return client, server
}

// expect receives the next message on c and checks it is the text want.
func expect(t *testing.T, c *runtime.Conn, want string) {
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
	case <-time.After(waitLimit):
		t.Fatalf("no message within %v, want %q", waitLimit, want)
	}
}

func publish(t *testing.T, h *Hub, topic, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := h.Publish(ctx, topic, ws.OpText, []byte(text)); err != nil {
		t.Fatalf("Publish(%q, %q): %v", topic, text, err)
	}
}

// removals sets h's hook for connections leaving by themselves and
// returns the channel it reports them on.
func removals(h *Hub) <-chan *runtime.Conn {
	ch := make(chan *runtime.Conn, 16)
	h.mu.Lock()
	h.removed = func(c *runtime.Conn) { ch <- c }
	h.mu.Unlock()
	return ch
}

// members returns the number of connections h tracks.
func members(h *Hub) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.members)
}
