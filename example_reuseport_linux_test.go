package tether_test

import (
	"context"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tetherws/tether"
)

// With SO_REUSEPORT, several Servers (in one process or several) listen
// on one port and the kernel spreads the connections among them: set the
// option in a net.ListenConfig's Control and pass the listener to Serve.
func ExampleServer_Serve_reusePort() {
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	first, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	second, err := lc.Listen(context.Background(), "tcp", first.Addr().String()) // the same port
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ln := range []net.Listener{first, second} {
		srv := &tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
			return c.SendText(ctx, "hello")
		}}
		done := make(chan struct{})
		go func() { srv.Serve(ln); close(done) }()
		defer func() { srv.Shutdown(context.Background()); <-done }()
	}

	conn, _, err := tether.Dial(context.Background(), "ws://"+first.Addr().String()+"/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.CloseNow()
	fmt.Println((<-conn.Messages()).Text(), "from one of two servers on one port")
	// Output:
	// hello from one of two servers on one port
}
