package tether_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tetherws/tether"
	"github.com/tetherws/tether/reconnect"
)

// A client that outlives its connections, with package reconnect: the
// Supervisor dials again with backoff when the connection is lost (here,
// the server restarts after every answer), runs OnConnect on each new
// connection, and delivers the messages of every connection, in order, on
// one channel.
func Example_reconnect() {
	var conns atomic.Int32
	url, stop := listen(&tether.Server{Handler: func(ctx context.Context, c *tether.Conn) error {
		n := conns.Add(1)
		m, ok := <-c.Messages()
		if !ok {
			return nil
		}
		if err := c.SendText(ctx, fmt.Sprintf("%s: ok on connection %d", m.Text(), n)); err != nil {
			return err
		}
		return c.Close(tether.CloseServiceRestart, "restarting")
	}})
	defer stop()

	sup, err := reconnect.New(context.Background(), url, &reconnect.Options{
		OnConnect: func(ctx context.Context, c *tether.Conn) error {
			return c.SendText(ctx, "subscribe ticks") // on every connection
		},
		// A short backoff for a local server; the default is Python's.
		Backoff: &reconnect.Exponential{Initial: 10 * time.Millisecond, Min: 10 * time.Millisecond, Max: time.Second, Factor: 2},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	for m := range sup.Messages() {
		fmt.Println(m.Text())
		if n++; n == 3 {
			break
		}
	}
	sup.Close()
	fmt.Println("stopped:", sup.Err())
	// Output:
	// subscribe ticks: ok on connection 1
	// subscribe ticks: ok on connection 2
	// subscribe ticks: ok on connection 3
	// stopped: <nil>
}
