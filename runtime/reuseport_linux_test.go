package runtime

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
	"testing"
)

// reusePort is a net.ListenConfig whose sockets set SO_REUSEPORT, so that
// several listeners (processes, or Servers in one process) share a port
// and the kernel spreads the connections among them.
var reusePort = net.ListenConfig{
	Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	},
}

// namedServer greets each connection with its name.
func namedServer(t *testing.T, name, addr string) (*Server, net.Listener) {
	t.Helper()
	ln, err := reusePort.Listen(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("listen with SO_REUSEPORT on %s: %v", addr, err)
	}
	srv := &Server{Handler: func(ctx context.Context, c *Conn) error {
		return c.SendText(ctx, name)
	}}
	serveOn(t, srv, ln)
	return srv, ln
}

// Two Servers listen on one port with SO_REUSEPORT: connections reach
// both; once one shuts down, the other takes every connection.
func TestTwoServersShareAPortWithReusePort(t *testing.T) {
	a, ln := namedServer(t, "a", "127.0.0.1:0")
	namedServer(t, "b", ln.Addr().String())
	url := "ws://" + ln.Addr().String() + "/"
	greet := func() string {
		c := dial(t, url, nil)
		m := recv(t, c)
		c.CloseNow()
		return m.Text()
	}
	seen := map[string]int{}
	for i := 0; i < 200 && (seen["a"] == 0 || seen["b"] == 0); i++ {
		seen[greet()]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Fatalf("connections reached %v, want both servers", seen)
	}
	t.Logf("connections per server: %v", seen)
	if err := a.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if got := greet(); got != "b" {
			t.Fatalf("a connection reached %q after a shut down", got)
		}
	}
}
