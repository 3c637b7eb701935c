package tether_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/tetherws/tether"
)

// A Server serves on any net.Listener: here a Unix socket, which a client
// reaches with DialOptions.UnixSocket (the URL still gives the Host
// header and the path).
func ExampleServer_Serve_unixSocket() {
	dir, err := os.MkdirTemp("", "tether")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ws.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		return c.SendText(ctx, "hello over "+c.LocalAddr().Network())
	}}
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	defer func() { srv.Shutdown(context.Background()); <-done }()

	conn, _, err := tether.Dial(context.Background(), "ws://localhost/", &tether.DialOptions{UnixSocket: path})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.CloseNow()
	fmt.Println((<-conn.Messages()).Text())
	// Output:
	// hello over unix
}
