package tether_test

import (
	"context"
	"fmt"

	"github.com/tetherws/tether"
)

// echo is a server's Handler: it sends every message back. SendMessage
// echoes a received message without validating its text again.
func echo(ctx context.Context, c *tether.Conn) error {
	for msg := range c.Messages() { // closed when the connection ends
		if err := c.SendMessage(ctx, msg); err != nil {
			return err
		}
	}
	return nil // the connection is closed with 1000
}

// hello is a client: it says hello, prints the answer and closes.
func hello(ctx context.Context, url string) error {
	conn, _, err := tether.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.CloseNow()

	if err := conn.SendText(ctx, "hello"); err != nil {
		return err
	}
	for msg := range conn.Messages() {
		fmt.Printf("%s\n", msg.Data)
		conn.Close(tether.CloseNormal, "got it") // waits until the connection has ended
	}
	return conn.Err() // nil after a clean closing handshake
}

// The quick start: an echo server, and a client that says hello to it.
// A real server listens with srv.ListenAndServe("127.0.0.1:9001").
func Example() {
	url, stop := listen(&tether.Server{Handler: echo})
	defer stop()

	if err := hello(context.Background(), url); err != nil {
		fmt.Println(err)
	}
	// Output: hello
}
